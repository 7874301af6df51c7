"""Procedural world: renders 17-frame 128x128 clips of simple shapes moving in simple scenes, with captions.

Everything that names things (shapes, colours, motions, scenes, synonyms, held-out combinations and phrasings) lives in
training/world.json so that the TypeScript evaluation reads the same definition.

    /usr/bin/python3 training/world.py --preview out_dir   # writes a few sample clips as PNG strips + captions
    /usr/bin/python3 training/world.py --preview out_dir --style neon   # ... in one of the looks (STYLES)
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORLD = json.load(open(os.path.join(HERE, "world.json")))
FRAMES: int = WORLD["frames"]
SIZE: int = WORLD["size"]
SHAPES = list(WORLD["shapes"].keys())
COLOURS = list(WORLD["colours"].keys())
MOTIONS = list(WORLD["motions"].keys())
SCENES = list(WORLD["scenes"].keys())

_HELD_SC = {tuple(p) for p in WORLD["heldout"]["shape_colour"]}
_HELD_SM = {tuple(p) for p in WORLD["heldout"]["shape_motion"]}
_HELD_CS = {tuple(p) for p in WORLD["heldout"]["colour_scene"]}


@dataclass
class Obj:
    shape: str
    colour: str
    motion: str
    params: dict = field(default_factory=dict)


@dataclass
class Clip:
    scene: str
    objs: list
    scene_seed: int


# ----------------------------------------------------------------------------------------------------------- validity

def allowed(shape: str, colour: str, motion: str, scene: str) -> bool:
    """Physically sensible: the colour stands out from the scene and spins are visible."""
    if colour in WORLD["scenes"][scene]["forbid"]:
        return False
    if motion == "spin" and WORLD["shapes"][shape]["symmetric"]:
        return False
    return True


def is_heldout(shape: str, colour: str, motion: str, scene: str) -> bool:
    return (shape, colour) in _HELD_SC or (shape, motion) in _HELD_SM or (colour, scene) in _HELD_CS


# -------------------------------------------------------------------------------------------------------------- shapes

def _unit_polygon(shape: str) -> np.ndarray | None:
    """Vertices (x, y) of the shape with radius ~1, y pointing down (image coordinates)."""
    if shape == "square":
        s = 0.82
        return np.array([[-s, -s], [s, -s], [s, s], [-s, s]], np.float32)
    if shape == "triangle":
        a = np.deg2rad(np.array([-90, 30, 150]))
        return np.stack([np.cos(a), np.sin(a) + 0.2], 1).astype(np.float32) * 1.08
    if shape == "star":
        pts = []
        for k in range(10):
            ang = -math.pi / 2 + k * math.pi / 5
            rad = 1.05 if k % 2 == 0 else 0.45
            pts.append([rad * math.cos(ang), rad * math.sin(ang) + 0.05])
        return np.array(pts, np.float32)
    if shape == "heart":
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        return (np.stack([x, -y - 2.5], 1) / 16.5).astype(np.float32)
    return None


_POLYS = {s: _unit_polygon(s) for s in SHAPES}


def _polygon_sdf(px: np.ndarray, py: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) from points to a closed polygon."""
    d = np.full(px.shape, np.inf, np.float32)
    inside = np.zeros(px.shape, bool)
    n = len(verts)
    for i in range(n):
        ax, ay = verts[i]
        bx, by = verts[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        wx, wy = px - ax, py - ay
        h = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey + 1e-12), 0.0, 1.0)
        dx, dy = wx - ex * h, wy - ey * h
        d = np.minimum(d, dx * dx + dy * dy)
        cond = (ay > py) != (by > py)
        xint = ax + (py - ay) * ex / (ey + 1e-12)
        inside ^= cond & (px < xint)
    d = np.sqrt(d)
    return np.where(inside, -d, d)


def shape_sdf(shape: str, cx: float, cy: float, r: float, angle: float, size: int = SIZE, margin: int = 0) -> tuple:
    """Signed distance (pixels, negative inside) of one object over its bounding box grown by `margin` pixels (the
    styles draw outlines and glows around it); returns (sdf patch or None when off-frame, y0, x0)."""
    pad = int(math.ceil(r * 1.2)) + 2 + margin
    x0, x1 = max(0, int(cx) - pad), min(size, int(cx) + pad + 1)
    y0, y1 = max(0, int(cy) - pad), min(size, int(cy) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return None, 0, 0
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    px, py = xs + 0.5 - cx, ys + 0.5 - cy
    if shape == "circle":
        sdf = np.sqrt(px * px + py * py) - r
    elif shape == "ring":
        sdf = np.abs(np.sqrt(px * px + py * py) - 0.7 * r) - 0.3 * r
    else:
        c, s = math.cos(angle), math.sin(angle)
        v = _POLYS[shape] * r
        v = np.stack([v[:, 0] * c - v[:, 1] * s, v[:, 0] * s + v[:, 1] * c], 1)
        sdf = _polygon_sdf(px, py, v)
    return sdf, y0, x0


def shape_alpha(shape: str, cx: float, cy: float, r: float, angle: float, size: int = SIZE) -> tuple:
    """Anti-aliased coverage of one object; returns (alpha patch, y0, x0) for the bounding box."""
    sdf, y0, x0 = shape_sdf(shape, cx, cy, r, angle, size)
    if sdf is None:
        return np.zeros((0, 0), np.float32), 0, 0
    return np.clip(0.5 - sdf, 0.0, 1.0).astype(np.float32), y0, x0


# -------------------------------------------------------------------------------------------------------------- motion

def sample_motion_params(motion: str, rng: np.random.Generator, lane: float = 0.0) -> dict:
    """Each motion has one canonical path (a leftward move starts on the right at mid height, an orbit starts on the
    left and turns one way, ...) with a few pixels of jitter. Wide random layouts made the denoiser's posterior at high
    noise an average over places, and a 1.3M-parameter model trained for hours on a CPU drew that average: one large
    central blob. `lane` moves the path across its direction of motion (two-object clips put their objects in two
    lanes so that they do not overlap)."""
    u = rng.uniform
    j = lambda c, w=5.0: c + u(-w, w)
    p: dict = {"r": u(14, 18), "angle": u(-0.12, 0.12)}
    if motion in ("left", "right"):
        d = u(56, 64)
        start = j(96, 4) if motion == "left" else j(32, 4)
        p.update(x0=start, x1=start - d if motion == "left" else start + d, y0=j(64 + lane))
    elif motion in ("up", "down"):
        d = u(56, 64)
        start = j(96, 4) if motion == "up" else j(32, 4)
        p.update(y0=start, y1=start - d if motion == "up" else start + d, x0=j(64 + lane))
    elif motion == "fall":
        p.update(x0=j(64 + lane), y0=j(26, 3), d=u(66, 74))
    elif motion == "bounce":
        p.update(x0=j(64 + lane), h=u(46, 54), bounces=2)
    elif motion == "spin":
        p.update(x0=j(64 + lane), y0=j(64), turn=u(2.6, 4.0), r=u(17, 21))
    elif motion in ("grow", "shrink"):
        small, big = u(7, 9), u(24, 28)
        p.update(x0=j(64 + lane), y0=j(64), r0=small if motion == "grow" else big, r1=big if motion == "grow" else small)
    elif motion == "orbit":
        p.update(cx=j(64 + lane, 3), cy=j(64, 3), R=u(28, 32), phase=math.pi + u(-0.3, 0.3), dir=1, r=u(12, 15))
    return p


def object_state(motion: str, p: dict, t: float) -> tuple:
    """(cx, cy, r, angle) at normalised time t in [0, 1]."""
    r, angle = p["r"], p["angle"]
    if motion in ("left", "right"):
        return p["x0"] + (p["x1"] - p["x0"]) * t, p["y0"], r, angle
    if motion in ("up", "down"):
        return p["x0"], p["y0"] + (p["y1"] - p["y0"]) * t, r, angle
    if motion == "fall":
        return p["x0"], p["y0"] + p["d"] * t * t, r, angle
    if motion == "bounce":
        ground = SIZE - r - 6
        return p["x0"], ground - p["h"] * abs(math.sin(math.pi * p["bounces"] * t)), r, angle
    if motion == "spin":
        return p["x0"], p["y0"], r, angle + p["turn"] * t
    if motion in ("grow", "shrink"):
        return p["x0"], p["y0"], p["r0"] + (p["r1"] - p["r0"]) * t, angle
    if motion == "orbit":
        a = p["phase"] + p["dir"] * 2 * math.pi * t
        return p["cx"] + p["R"] * math.cos(a), p["cy"] + p["R"] * math.sin(a), r, angle
    raise ValueError(motion)


# -------------------------------------------------------------------------------------------------------------- scenes

def row_background(scene: str, size: int = SIZE) -> np.ndarray:
    """Background colour per row without decorations, [size, 3] float in 0..255 (also used by the evaluation)."""
    sc = WORLD["scenes"][scene]
    top, bottom = np.array(sc["top"], np.float32), np.array(sc["bottom"], np.float32)
    y = (np.arange(size, dtype=np.float32) + 0.5) / size
    if "horizon" in sc:
        h = sc["horizon"]
        sky_bottom = np.array(sc["sky_bottom"], np.float32)
        rows = np.where((y < h)[:, None], top + (sky_bottom - top) * (y / h)[:, None], bottom * (1.0 - 0.25 * ((y - h) / (1 - h)))[:, None])
        return rows
    return top + (bottom - top) * y[:, None]


def render_background(scene: str, rng: np.random.Generator) -> np.ndarray:
    sc = WORLD["scenes"][scene]
    bg = np.repeat(row_background(scene)[:, None, :], SIZE, axis=1).copy()
    bg += rng.uniform(-6, 6, size=3).astype(np.float32)
    if scene == "sky":
        deco = np.array(sc["decoration"], np.float32)
        for _ in range(rng.integers(2, 5)):
            cx, cy, w = rng.uniform(0, SIZE), rng.uniform(8, 90), rng.uniform(8, 14)
            for k in range(rng.integers(3, 6)):
                a, y0, x0 = shape_alpha("circle", cx + rng.uniform(-2.2, 2.2) * w, cy + rng.uniform(-0.5, 0.5) * w,
                                        w * rng.uniform(0.7, 1.1), 0.0)
                if a.size:
                    sl = bg[y0:y0 + a.shape[0], x0:x0 + a.shape[1]]
                    sl += (deco - sl) * a[..., None] * 0.95
    elif scene == "night":
        deco = np.array(sc["decoration"], np.float32)
        n = rng.integers(25, 45)
        ys, xs = rng.integers(0, SIZE, n), rng.integers(0, SIZE, n)
        b = rng.uniform(0.5, 1.0, n).astype(np.float32)
        bg[ys, xs] = bg[ys, xs] + (deco - bg[ys, xs]) * b[:, None]
        big = rng.random(n) < 0.3
        for y, x in zip(ys[big], xs[big]):
            y1, x1 = min(SIZE - 1, y + 1), min(SIZE - 1, x + 1)
            bg[y:y1 + 1, x:x1 + 1] = deco * 0.9
    elif scene == "grass":
        # blades of grass: darker speckles below the horizon
        h = int(SIZE * sc["horizon"])
        n = 220
        ys, xs = rng.integers(h + 2, SIZE, n), rng.integers(0, SIZE, n)
        bg[ys, xs] *= 0.8
    return bg


# -------------------------------------------------------------------------------------------------------------- render

def render(clip: Clip, frames: int = FRAMES, style: str | None = None) -> np.ndarray:
    """uint8 [frames, SIZE, SIZE, 3]. `style` (one of STYLES) draws the same clip in another look (render_styled);
    None, the default, is the world as the base model learns it."""
    if style is not None:
        return render_styled(clip, style, frames)
    rng = np.random.default_rng(clip.scene_seed)
    bg = render_background(clip.scene, rng)
    out = np.empty((frames, SIZE, SIZE, 3), np.uint8)
    for i in range(frames):
        t = i / (frames - 1) if frames > 1 else 0.0
        img = bg.copy()
        for o in clip.objs:
            cx, cy, r, ang = object_state(o.motion, o.params, t)
            a, y0, x0 = shape_alpha(o.shape, cx, cy, r, ang)
            if a.size:
                col = np.array(o.params.get("rgb", WORLD["colours"][o.colour]["rgb"]), np.float32)
                sl = img[y0:y0 + a.shape[0], x0:x0 + a.shape[1]]
                sl += (col - sl) * a[..., None]
        out[i] = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return out


# -------------------------------------------------------------------------------------------------------------- styles
# The looks the style adapters (training/train_lora.py) learn, each a different kind of change for a LoRA on the
# frozen base: a dark scene with each shape lit and glowing (neon), a textured board with rough strokes (chalk), a
# ruled page of cream paper (notebook). Each was chosen against the package's VAE (the model card's "Styles" has the
# looks tried and dropped: pixel art lost motion as drawn or came back soft, blue paper bled into red and pink). Every
# object keeps its named colour and its motion, so the eval's colour and motion checks still read a styled clip
# (tools/eval/styles.ts checks each look).

STYLES = ("neon", "chalk", "notebook")
NEON_DIM = 0.12  # neon: the scene's background dimmed to this (night-dark; the scene still faintly there)
NEON_GLOW = 0.36  # ... and a glow around each shape, this strong at its edge,
NEON_GLOW_WIDTH = 9.0  # ... falling by e every this many pixels
CHALK_BOARD = ((30, 58, 42), (22, 44, 32))  # chalk: a dark green board, top and bottom rows
NOTEBOOK_PAPER = ((246, 240, 222), (238, 230, 208))  # notebook: cream paper, top and bottom rows,
NOTEBOOK_LINE = (150, 178, 224)  # ... ruled in light blue, two pixels wide,
NOTEBOOK_RULE = 16  # ... every 16 rows (rows only: a whole row is one colour, so it is never taken for an object)


def _composite(img: np.ndarray, colour: np.ndarray, alpha: np.ndarray, y0: int, x0: int) -> None:
    sl = img[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]]
    sl += (colour - sl) * alpha[..., None]


def _object_colour(clip_obj: Obj) -> np.ndarray:
    return np.array(clip_obj.params.get("rgb", WORLD["colours"][clip_obj.colour]["rgb"]), np.float32)


def _notebook_page(rng: np.random.Generator) -> np.ndarray:
    """A page of a ruled notebook: cream paper with a light blue line, two pixels wide, every NOTEBOOK_RULE rows."""
    top, bottom = (np.array(c, np.float32) for c in NOTEBOOK_PAPER)
    y = (np.arange(SIZE, dtype=np.float32) + 0.5) / SIZE
    bg = np.repeat((top + (bottom - top) * y[:, None])[:, None, :], SIZE, axis=1)
    ruled = (np.arange(SIZE) % NOTEBOOK_RULE) >= NOTEBOOK_RULE - 2
    bg[ruled] = np.array(NOTEBOOK_LINE, np.float32)
    return bg + rng.normal(0, 1.5, (SIZE, SIZE, 1)).astype(np.float32)


def _chalk_board(rng: np.random.Generator) -> tuple:
    """The board (with smudges of 4-pixel grain that a latent of 8x8-pixel cells can still carry), and where the chalk
    takes: a mask of 2x2-pixel specks, 80% of them, fixed for the clip (a board does not change between frames)."""
    top, bottom = (np.array(c, np.float32) for c in CHALK_BOARD)
    y = (np.arange(SIZE, dtype=np.float32) + 0.5) / SIZE
    bg = np.repeat((top + (bottom - top) * y[:, None])[:, None, :], SIZE, axis=1)
    coarse = rng.normal(0, 1, (SIZE // 4, SIZE // 4)).astype(np.float32)
    smudge = np.repeat(np.repeat(coarse, 4, 0), 4, 1) * 7 + rng.normal(0, 3, (SIZE, SIZE)).astype(np.float32)
    bg = bg + smudge[..., None]
    takes = np.repeat(np.repeat(rng.random((SIZE // 2, SIZE // 2)) < 0.8, 2, 0), 2, 1).astype(np.float32)
    return bg, takes


def render_styled(clip: Clip, style: str, frames: int = FRAMES) -> np.ndarray:
    """The clip in one of STYLES: uint8 [frames, SIZE, SIZE, 3]. Each object keeps its exact colour (drawn at full
    strength where it is drawn: a blend with the background would read as another named colour)."""
    if style not in STYLES:
        raise ValueError(f"style {style!r} is not one of the world's styles: {', '.join(STYLES)}")
    rng = np.random.default_rng(clip.scene_seed)
    takes = None
    if style == "neon":
        bg = render_background(clip.scene, rng) * NEON_DIM
    elif style == "notebook":
        bg = _notebook_page(rng)
    else:
        bg, takes = _chalk_board(rng)
    out = np.empty((frames, SIZE, SIZE, 3), np.uint8)
    for i in range(frames):
        t = i / (frames - 1) if frames > 1 else 0.0
        img = bg.copy()
        for o in clip.objs:
            cx, cy, r, ang = object_state(o.motion, o.params, t)
            sdf, y0, x0 = shape_sdf(o.shape, cx, cy, r, ang, margin=20 if style == "neon" else 8)
            if sdf is None:
                continue
            col = _object_colour(o)
            fill = np.clip(0.5 - sdf, 0, 1)
            if style == "neon":
                # the shape lit in its colour with a wide glow of light around it (outlines alone came back from
                # the VAE dimmed into other named colours); the glow starts under half strength, so the object's own
                # pixels are still the ones that read as its colour
                glow = NEON_GLOW * np.exp(-np.maximum(sdf, 0) / NEON_GLOW_WIDTH)
                _composite(img, col, np.maximum(fill, glow).astype(np.float32), y0, x0)
            elif style == "notebook":
                _composite(img, col, fill.astype(np.float32), y0, x0)
            else:
                # chalk: the shape filled in specks of chalk (the board shows between them), its edge rough
                tk = takes[y0:y0 + sdf.shape[0], x0:x0 + sdf.shape[1]]
                _composite(img, col, (fill * tk).astype(np.float32), y0, x0)
        out[i] = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return out


# ------------------------------------------------------------------------------------------------------------ sampling

def nearest_colour(rgb: np.ndarray) -> str:
    """The named colour closest to an RGB triple."""
    return min(COLOURS, key=lambda c: float(np.sum((np.array(WORLD["colours"][c]["rgb"], np.float32) - rgb) ** 2)))


def recolour(clip: Clip, rng: np.random.Generator) -> Clip:
    """The same clip with every object in a random RGB colour (for the autoencoder, a pixel codec that should not care
    which 8 colours the captions name). A colour counts as its nearest named one, and is redrawn while that would make
    a held-out shape-colour or colour-scene pair, so held-out combinations stay unseen by every stage of training."""
    objs = []
    for o in clip.objs:
        while True:
            rgb = rng.uniform(0, 255, size=3).astype(np.float32)
            named = nearest_colour(rgb)
            if not is_heldout(o.shape, named, o.motion, clip.scene):
                break
        objs.append(Obj(o.shape, named, o.motion, {**o.params, "rgb": [float(v) for v in rgb]}))
    return Clip(clip.scene, objs, clip.scene_seed)


def sample_attrs(rng: np.random.Generator, heldout: bool = False, scene: str | None = None) -> tuple:
    while True:
        s, c, m = rng.choice(SHAPES), rng.choice(COLOURS), rng.choice(MOTIONS)
        sc = scene or rng.choice(SCENES)
        if allowed(s, c, m, sc) and is_heldout(s, c, m, sc) == heldout:
            return str(s), str(c), str(m), str(sc)


def sample_clip(rng: np.random.Generator, two_prob: float = 0.15) -> Clip:
    s, c, m, sc = sample_attrs(rng)
    if rng.random() >= two_prob:
        return Clip(sc, [Obj(s, c, m, sample_motion_params(m, rng))], int(rng.integers(0, 2**31 - 1)))
    while True:
        s2, c2, m2, _ = sample_attrs(rng, scene=sc)
        if s2 != s and c2 != c:
            break
    # The first-named object takes the upper/left lane, the second the lower/right one.
    objs = [Obj(s, c, m, sample_motion_params(m, rng, lane=-28)), Obj(s2, c2, m2, sample_motion_params(m2, rng, lane=28))]
    return Clip(sc, objs, int(rng.integers(0, 2**31 - 1)))


# ------------------------------------------------------------------------------------------------------------ captions

def _fill(template: str, o: Obj, scene_phrase: str, rng: np.random.Generator) -> str:
    pick = lambda xs: str(xs[rng.integers(len(xs))])
    mo = WORLD["motions"][o.motion]
    text = template.format(colour=pick(WORLD["colours"][o.colour]["words"]), shape=pick(WORLD["shapes"][o.shape]["words"]),
                           third=pick(mo["third"]), ing=pick(mo["ing"]), scene=scene_phrase)
    return tidy(text)


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^,\s*", "", text)
    text = re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)  # "an orange ball"
    return text.replace(" ,", ",")


def caption(clip: Clip, rng: np.random.Generator, split: str = "train") -> str:
    templates = WORLD["templates"][split]
    phrases = WORLD["scenes"][clip.scene]["phrases"]
    scene_phrase = str(phrases[rng.integers(len(phrases))])
    if len(clip.objs) == 1:
        return _fill(str(templates[rng.integers(len(templates))]), clip.objs[0], scene_phrase, rng)
    first = _fill("a {colour} {shape} {third}", clip.objs[0], "", rng)
    second = _fill("a {colour} {shape} {ing}" if rng.random() < 0.5 else "a {colour} {shape} {third}", clip.objs[1], "", rng)
    joiner = str(WORLD["templates"]["pair_joiner"][rng.integers(len(WORLD["templates"]["pair_joiner"]))])
    return tidy(f"{first}{joiner}{second} {scene_phrase}")


# ----------------------------------------------------------------------------------------------------------- tokenizer

TOKEN_RE = re.compile(r"\w+|[^\w\s]+")


def words_of(text: str) -> list:
    return TOKEN_RE.findall(text.lower())


def vocabulary() -> list:
    words: set = set()
    for sh in WORLD["shapes"].values():
        for w in sh["words"]:
            words.update(words_of(w))
    for co in WORLD["colours"].values():
        for w in co["words"]:
            words.update(words_of(w))
    for mo in WORLD["motions"].values():
        for w in mo["third"] + mo["ing"]:
            words.update(words_of(w))
    for sc in WORLD["scenes"].values():
        for w in sc["phrases"]:
            words.update(words_of(w))
    for t in WORLD["templates"]["train"] + WORLD["templates"]["heldout"] + WORLD["templates"]["pair_joiner"]:
        words.update(words_of(re.sub(r"\{\w+\}", " ", t)))
    words.add("an")
    return ["[PAD]", "[UNK]"] + sorted(words)


def eval_cases(n_per_pair: int = 2, seed: int = 1234) -> list:
    """Held-out single-object prompts: each contains at least one held-out pair and uses a held-out template."""
    rng = np.random.default_rng(seed)
    cases = []
    groups = [("shape_colour", p) for p in WORLD["heldout"]["shape_colour"]] + \
             [("shape_motion", p) for p in WORLD["heldout"]["shape_motion"]] + \
             [("colour_scene", p) for p in WORLD["heldout"]["colour_scene"]]
    for kind, pair in groups:
        made = 0
        while made < n_per_pair:
            s, c, m, sc = str(rng.choice(SHAPES)), str(rng.choice(COLOURS)), str(rng.choice(MOTIONS)), str(rng.choice(SCENES))
            if kind == "shape_colour":
                s, c = pair
            elif kind == "shape_motion":
                s, m = pair
            else:
                c, sc = pair
            if not allowed(s, c, m, sc):
                continue
            clip = Clip(sc, [Obj(s, c, m)], 0)
            prompt = caption(clip, rng, split="heldout")
            cases.append({"prompt": prompt, "shape": s, "colour": c, "motion": m, "scene": sc, "seed": int(rng.integers(1, 10**6)),
                          "heldout_pair": kind})
            made += 1
    return cases


if __name__ == "__main__":
    import argparse
    import time
    ap = argparse.ArgumentParser()
    ap.add_argument("--preview", help="write sample clips as PNG strips into this folder")
    ap.add_argument("--style", choices=STYLES, help="--preview: draw the clips in this look (render_styled)")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--write-eval-cases", action="store_true", help="(re)write eval_cases into world.json")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if args.bench:
        t0 = time.time()
        for _ in range(20):
            render(sample_clip(rng))
        print(f"{(time.time() - t0) / 20 * 1000:.1f} ms per clip")
    if args.write_eval_cases:
        WORLD["eval_cases"] = eval_cases()
        with open(os.path.join(HERE, "world.json"), "w") as f:
            json.dump(WORLD, f, indent=1)
            f.write("\n")
        print(len(WORLD["eval_cases"]), "eval cases")
    if args.preview:
        from PIL import Image  # optional, only for previews
        os.makedirs(args.preview, exist_ok=True)
        for k in range(12):
            clip = sample_clip(rng, two_prob=0.3)
            v = render(clip, style=args.style)
            strip = np.concatenate(list(v[::2]), axis=1)
            Image.fromarray(strip).save(os.path.join(args.preview, f"clip{k}.png"))
            print(k, caption(clip, rng))
