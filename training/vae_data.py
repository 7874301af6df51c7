"""Training data for the autoencoder's stages: a pool of rendered clips of the procedural world, cut into 4-frame
groups (with their neighbours, as the decoder sees them) and cropped mostly around objects, and the objects' masks.
"""
from __future__ import annotations

import numpy as np
import torch

import world as W


def with_neighbours(g: int, last: int, context: int) -> list:
    """Latent frame g followed by the `context` frames the decoder sees with it: the one before (the first's is
    itself), then the one after (the last's is itself)."""
    return [g, max(0, g - 1), min(last, g + 1)][:1 + context]


def group_frames(video: np.ndarray, g: int) -> np.ndarray:
    """The 4 frames [4, H, W, 3] that latent frame g covers (the first: frame 0 four times)."""
    return np.stack([video[0]] * 4) if g == 0 else video[1 + 4 * (g - 1): 1 + 4 * g]


class ClipPool:
    """Keeps a pool of rendered clips and refreshes a few per step, so rendering costs little of each step."""

    def __init__(self, rng: np.random.Generator, size: int = 192, recolour: float = 0.0) -> None:
        self.rng, self.recolour = rng, recolour
        self.scripts: list = [None] * size  # what each clip shows (for its caption)
        self.clips: list = [None] * size
        self.backgrounds: list = [None] * size  # the scene without its objects (for object masks)
        self.recoloured = [False] * size  # objects in random colours: the caption does not describe them
        for k in range(size):
            self._draw(k)

    def _draw(self, k: int) -> None:
        script = W.sample_clip(self.rng)
        self.recoloured[k] = bool(self.rng.random() < self.recolour)
        self.scripts[k] = W.recolour(script, self.rng) if self.recoloured[k] else script
        self.clips[k] = W.render(self.scripts[k])
        self.backgrounds[k] = None  # rendered on demand by object_masks()

    def refresh(self, n: int) -> None:
        for _ in range(n):
            self._draw(int(self.rng.integers(len(self.clips))))

    def captioned(self) -> int:
        """A random clip whose caption describes it (not recoloured)."""
        while True:
            k = int(self.rng.integers(len(self.clips)))
            if not self.recoloured[k]:
                return k

    def _crop_origin(self, frames: np.ndarray, crop: int) -> tuple:
        """Mostly crops around an object (pixels far from their row's median colour): objects are what is hard."""
        lim = (W.SIZE - crop) // 8
        if self.rng.random() < 0.75:
            f = frames[int(self.rng.integers(len(frames)))].astype(np.int16)
            med = np.median(f, axis=1, keepdims=True)
            ys, xs = np.nonzero(np.abs(f - med).sum(-1) > 90)
            if len(ys):
                k = int(self.rng.integers(len(ys)))
                cy, cx = ys[k] - crop // 2 + int(self.rng.integers(-8, 9)), xs[k] - crop // 2 + int(self.rng.integers(-8, 9))
                return int(np.clip(cy // 8, 0, lim)) * 8, int(np.clip(cx // 8, 0, lim)) * 8
        return int(self.rng.integers(0, lim + 1)) * 8, int(self.rng.integers(0, lim + 1)) * 8

    def place_crop(self, clip: int, g: int, crop: int) -> tuple:
        """The crop origin for group g of a clip (_crop_origin), noted in last_places for object_masks()."""
        y, x = self._crop_origin(group_frames(self.clips[clip], g), crop)
        self.last_places.append((g, y, x))
        return y, x

    def object_masks(self, crop: int) -> torch.Tensor:
        """[n, 1, h, w] for the last groups(): 1 where any frame of the group shows an object (it differs from the
        clip's background), else 0."""
        out = []
        for k, (g, y, x) in zip(self.last_picks, self.last_places):
            if self.backgrounds[k] is None:
                self.backgrounds[k] = W.render_background(self.scripts[k].scene,
                                                          np.random.default_rng(self.scripts[k].scene_seed))
            bg = np.clip(self.backgrounds[k] + 0.5, 0, 255)[y:y + crop, x:x + crop]
            frames = group_frames(self.clips[k], g)[:, y:y + crop, x:x + crop].astype(np.float32)
            out.append((np.abs(frames - bg).max(axis=(0, 3)) > 8).astype(np.float32))
        return torch.from_numpy(np.stack(out))[:, None]

    def groups(self, n: int, crop: int, neighbours: int = 0) -> list:
        """n random 4-frame groups cropped to crop x crop -> [[n, 12, h, w]]; neighbours 1 adds the group before each
        (the same crop; the first group's is itself), 2 also the group after (the last group's is itself)."""
        picked: list = [[] for _ in range(1 + neighbours)]
        self.last_picks = [int(self.rng.integers(len(self.clips))) for _ in range(n)]  # which clip each crop is from
        self.last_places = []  # (group, y, x) of each crop
        for clip in self.last_picks:
            v = self.clips[clip]
            last = (len(v) - 1) // 4
            g = int(self.rng.integers(0, last + 1))
            y, x = self.place_crop(clip, g, crop)
            for k, other in enumerate(with_neighbours(g, last, neighbours)):
                picked[k].append(group_frames(v, other)[:, y:y + crop, x:x + crop])
        to = lambda arr: torch.from_numpy(np.stack(arr)).float().div(127.5).sub(1.0).permute(0, 1, 4, 2, 3).flatten(1, 2)
        return [to(p) for p in picked]
