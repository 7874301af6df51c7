"""Video autoencoder: causal 4x in time, 8x in space, 16 latent channels.

Time is compressed Wan-style and causally: the first frame is encoded alone (as a group of four copies of itself), then
each following group of 4 frames becomes one latent frame, so 17 frames -> 5 latent frames and 1 frame -> 1 latent frame.
Each group is handled by a 2D conv net on its 12 stacked channels, which keeps the decoder cheap on a CPU.

    /usr/bin/python3 training/vae.py train --steps 3000        # resumable (training/runs/vae/ckpt.pt)
    /usr/bin/python3 training/vae.py finetune-decoder --steps 3000   # frozen encoder, decoder with temporal context
    /usr/bin/python3 training/vae.py grow-decoder --steps 5000       # frozen encoder, larger decoder, both neighbours
    /usr/bin/python3 training/vae.py joint-finetune --steps 6000 --recolour 0.5 --anchor 0  # stage 2: encoder unfrozen
    /usr/bin/python3 training/vae.py refine-decoder --steps 3000 --denoised-frac 0.5  # stage 2b (experiment)
    /usr/bin/python3 training/vae.py grow-encoder --steps 8000 --recolour 0.5 --anchor 0 --lr 5e-4  # stage 3 (new runs folder)
    /usr/bin/python3 training/vae.py refine-decoder --steps 2000 --lr 3e-4 --object-weight 8  # stage 5 (new runs folder)
    /usr/bin/python3 training/vae.py deepen-decoder --steps 3000 --lr 3e-4 --object-weight 8 --denoised-frac 0.5 \
        --max-sigma 0.25                                       # stage 6 (experiment, new runs folder)
    /usr/bin/python3 training/vae.py refine-joint --steps 4000 --recolour 0.5 --anchor 0 --lr 3e-4 --object-weight 8
                                                               # encoder stage 6 (experiment, new runs folder)
    /usr/bin/python3 training/vae.py refit-encoder --steps 4000 --crop 128 --batch 4 --lr 1e-3 --object-weight 8
                                                               # a new encoder for an imported package's decoder
    /usr/bin/python3 training/vae.py stats                     # latents_mean/std + preview/latent_rgb.json factors

The decoder fine-tune keeps the encoder, so latents (and a denoiser trained on them) stay valid while the decoder gets
the previous latent frame as context (causal, as Wan's decoder caches the previous chunk) and more training.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import world as W
from common import RUNS, Progress, load_ckpt, save_ckpt, setup_threads

LATENT_C = 16
T_FACTOR = 4
S_FACTOR = 8
CKPT = os.path.join(RUNS, "vae", "ckpt.pt")
DEC_CKPT = os.path.join(RUNS, "vae_dec", "ckpt.pt")
DEC2_CKPT = os.path.join(RUNS, "vae_dec2", "ckpt.pt")
JOINT_CKPT = os.path.join(RUNS, "vae_joint", "ckpt.pt")
REFINE_CKPT = os.path.join(RUNS, "vae_dec3", "ckpt.pt")
STAGE3_CKPT = os.path.join(RUNS, "vae3", "ckpt.pt")
DEEP_CKPT = os.path.join(RUNS, "vae_dec6", "ckpt.pt")
JOINT6_CKPT = os.path.join(RUNS, "vae6", "ckpt.pt")
PACKAGE_CKPT = os.path.join(RUNS, "vae_package", "ckpt.pt")  # written by import_package.py
REFIT_CKPT = os.path.join(RUNS, "vae_refit", "ckpt.pt")


def conv(i: int, o: int, k: int = 3, s: int = 1) -> nn.Conv2d:
    return nn.Conv2d(i, o, k, s, padding=(k - 1) // 2 if s == 1 else 1)


class Res(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a, self.b = conv(c, c), conv(c, c)

    def forward(self, x):
        return x + self.b(F.silu(self.a(F.silu(x))))


def run_with_extra(net: nn.Sequential, extra: list, after: tuple, x):
    """Runs `net`, and the block `extra[k]` after its layer `after[k]` (no extra blocks when `extra` is empty; blocks
    after the same layer run in their order in `extra`)."""
    for i, layer in enumerate(net):
        x = layer(x)
        for block, at in zip(extra, after):
            if at == i:
                x = block(x)
    return x


class GroupEncoder(nn.Module):
    """[N, 12, H, W] (4 frames x RGB in [-1, 1]) -> [N, C, H/8, W/8]. `extra` adds residual blocks at 1/2, 1/4 and
    1/8 resolution (stage 3): the stage-2 encoder has one conv per resolution, and a star's points or an orbiting
    object's four places in a group must be told apart before they are squeezed into one latent pixel."""

    # Positions in `net` after which the extra blocks run (after the conv at 1/2, the conv at 1/4, the Res at 1/8).
    EXTRA_AFTER = (4, 8, 11)

    def __init__(self, c: int = LATENT_C, extra: bool = False) -> None:
        super().__init__()
        self.extra = extra
        self.net = nn.Sequential(
            conv(12, 32), nn.SiLU(),
            nn.Conv2d(32, 48, 4, 2, 1), nn.SiLU(), conv(48, 48), nn.SiLU(),
            nn.Conv2d(48, 64, 4, 2, 1), nn.SiLU(), conv(64, 64), nn.SiLU(),
            nn.Conv2d(64, 96, 4, 2, 1), Res(96), nn.SiLU(), conv(96, c),
        )
        if extra:
            self.res2, self.res4, self.res8 = Res(48), Res(64), nn.Sequential(Res(96), Res(96))

    def forward(self, x):
        blocks = [self.res2, self.res4, self.res8] if self.extra else []
        return run_with_extra(self.net, blocks, self.EXTRA_AFTER, x)


class GroupDecoder(nn.Module):
    """[N, C, h, w] -> [N, 12, 8h, 8w]: upsampling by conv + pixel shuffle (DepthToSpace), no norms: cheap in ORT.
    `context` latent frames come stacked after the decoded one ([N, (1 + context) C, h, w]): 1 = the frame before it,
    2 = the frames before and after it. `extra` adds residual blocks at 1/8, 1/4 and 1/2 resolution (stage 1c): star
    points and triangle corners need a wider view of the latent than one block gives."""

    # Positions in `net` after which the extra blocks run (after the Res at 1/8, the conv at 1/4, the conv at 1/2), and
    # the deeper ones (after those at 1/4 and 1/2, and after the last pixel shuffle, at full resolution).
    EXTRA_AFTER = (1, 6, 11)
    DEEP_AFTER = (6, 11, 14)

    def __init__(self, c: int = LATENT_C, context: int = 0, extra: bool = False, deep: bool = False) -> None:
        super().__init__()
        self.context, self.extra, self.deep = int(context), extra, deep
        self.net = nn.Sequential(
            conv(c * (1 + self.context), 96), Res(96), nn.SiLU(),
            conv(96, 64 * 4), nn.PixelShuffle(2), nn.SiLU(), conv(64, 64), nn.SiLU(),
            conv(64, 48 * 4), nn.PixelShuffle(2), nn.SiLU(), conv(48, 32), nn.SiLU(),
            conv(32, 12 * 4), nn.PixelShuffle(2),
        )
        if extra:
            self.low = nn.Sequential(Res(96), Res(96), Res(96))
            self.mid, self.high = Res(64), Res(32)
        if deep:  # stage 6: star points and ring holes are a pixel or two wide; the last layers had 32 and 12 channels
            self.mid2, self.high2, self.full = Res(64), nn.Sequential(Res(32), Res(32)), FullResolution()

    def forward(self, z):
        blocks, after = ([self.low, self.mid, self.high], self.EXTRA_AFTER) if self.extra else ([], ())
        if self.deep:
            blocks, after = blocks + [self.mid2, self.high2, self.full], after + self.DEEP_AFTER
        return run_with_extra(self.net, blocks, after, z)


class FullResolution(nn.Module):
    """A residual block on the decoded pixels (4 frames x RGB) at full resolution, through 32 channels. Its last conv is
    named `b` like Res's, so add_residual_blocks starts it at zero."""

    def __init__(self, c: int = 12, hidden: int = 32) -> None:
        super().__init__()
        self.a, self.b = conv(c, hidden), conv(hidden, c)

    def forward(self, x):
        return x + self.b(F.silu(self.a(x)))


def frames_to_groups(video: torch.Tensor) -> torch.Tensor:
    """[B, 3, T, H, W] with T = 1 + 4k -> [B, k+1, 12, H, W] (first frame repeated 4x)."""
    b, c, t, h, w = video.shape
    first = video[:, :, :1].expand(b, c, T_FACTOR, h, w)
    v = torch.cat([first, video[:, :, 1:]], 2)  # [B, 3, 4(k+1), H, W]
    g = v.shape[2] // T_FACTOR
    v = v.reshape(b, c, g, T_FACTOR, h, w).permute(0, 2, 3, 1, 4, 5)  # [B, g, 4, 3, H, W]
    return v.reshape(b, g, T_FACTOR * c, h, w)


def groups_to_frames(groups: torch.Tensor) -> torch.Tensor:
    """[B, g, 12, H, W] -> [B, 3, 1 + 4(g-1), H, W] (drops the three copies of the first frame)."""
    b, g, _, h, w = groups.shape
    v = groups.reshape(b, g, T_FACTOR, 3, h, w).permute(0, 3, 1, 2, 4, 5).reshape(b, 3, g * T_FACTOR, h, w)
    return v[:, :, T_FACTOR - 1:]


class VideoAE(nn.Module):
    def __init__(self, decoder_context: int = 0, decoder_extra: bool = False, encoder_extra: bool = False,
                 decoder_deep: bool = False) -> None:
        super().__init__()
        self.enc = GroupEncoder(extra=encoder_extra)
        self.dec = GroupDecoder(context=decoder_context, extra=decoder_extra, deep=decoder_deep)
        # False for an autoencoder imported from a package that had no vae_encoder/: its encoder is untrained.
        self.encoder_trained = True

    def arch(self) -> dict:
        """What a checkpoint records so that `from_checkpoint` rebuilds the same network."""
        return {"decoder_context": self.dec.context, "decoder_extra": self.dec.extra, "encoder_extra": self.enc.extra,
                "decoder_deep": self.dec.deep, "encoder_trained": self.encoder_trained}

    @staticmethod
    def from_checkpoint(ck: dict) -> "VideoAE":
        ae = VideoAE(decoder_context=int(ck.get("decoder_context", 0)), decoder_extra=bool(ck.get("decoder_extra", False)),
                     encoder_extra=bool(ck.get("encoder_extra", False)), decoder_deep=bool(ck.get("decoder_deep", False)))
        ae.load_state_dict(ck["model"])
        ae.encoder_trained = bool(ck.get("encoder_trained", True))
        return ae

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """[B, 3, T, H, W] -> [B, C, F, h, w]."""
        g = frames_to_groups(video)
        b, n = g.shape[:2]
        z = self.enc(g.flatten(0, 1))
        return z.reshape(b, n, *z.shape[1:]).permute(0, 2, 1, 3, 4)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """[B, C, F, h, w] -> [B, 3, 1 + 4(F-1), 8h, 8w]."""
        b, c, f, h, w = z.shape
        parts = [z]
        if self.dec.context >= 1:
            parts.append(torch.cat([z[:, :, :1], z[:, :, :-1]], 2))  # the frame before (the first's: itself)
        if self.dec.context >= 2:
            parts.append(torch.cat([z[:, :, 1:], z[:, :, -1:]], 2))  # the frame after (the last's: itself)
        z = torch.cat(parts, 1)
        c *= len(parts)
        x = self.dec(z.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w))
        return groups_to_frames(x.reshape(b, f, *x.shape[1:]))


class EncoderExport(nn.Module):
    """The exported vae_encoder: video [B, 3, T, H, W] in [-1, 1] -> latents [B, C, F, h, w] (not normalised)."""

    def __init__(self, ae: VideoAE) -> None:
        super().__init__()
        self.ae = ae

    def forward(self, sample):
        return self.ae.encode(sample)


class DecoderExport(nn.Module):
    """The exported vae_decoder: clamps to [-1, 1] as the package format requires."""

    def __init__(self, ae: VideoAE) -> None:
        super().__init__()
        self.ae = ae

    def forward(self, latent_sample):
        return self.ae.decode(latent_sample).clamp(-1, 1)


def to_tensor(clips: np.ndarray) -> torch.Tensor:
    """uint8 [B, T, H, W, 3] -> float [B, 3, T, H, W] in [-1, 1]."""
    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)


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


class DenoisedLatents:
    """Latents as the denoiser leaves them: a clip's latent noised to a random sigma and replaced by the denoiser's
    guided x0 estimate for its caption. The decoder only ever sees such latents when it runs in the pipeline, and they
    are softer than the encoder's (a posterior mean), so stage 1c also trains on them, with the clip as the target."""

    def __init__(self, guidance: float = 4.5, max_sigma: float = 0.6) -> None:
        from sample import Sampler  # lazy: sample.py imports this module
        self.sampler, self.guidance, self.max_sigma = Sampler(), guidance, max_sigma
        print(f"denoised latents from the denoiser at step {self.sampler.step}", flush=True)

    @torch.no_grad()
    def batch(self, ae: "VideoAE", pool: "ClipPool", n_clips: int, per_clip: int, crop: int) -> list:
        s, rng = self.sampler, pool.rng
        picks = [pool.captioned() for _ in range(n_clips)]
        video = to_tensor(np.stack([pool.clips[k] for k in picks]))
        mean, std = s.mean[None, :, None, None, None], s.std[None, :, None, None, None]
        x0 = (ae.encode(video) - mean) / std
        sigma = torch.from_numpy(rng.uniform(0.0, self.max_sigma, n_clips)).float()[:, None, None, None, None]
        xt = (1 - sigma) * x0 + sigma * torch.randn_like(x0)
        ids = torch.from_numpy(s.tok.batch([W.caption(pool.scripts[k], rng) for k in picks] + [""] * n_clips))
        v = s.dit(xt.repeat(2, 1, 1, 1, 1), (sigma.flatten() * 1000).repeat(2), s.text(ids))
        v = v[n_clips:] + self.guidance * (v[:n_clips] - v[n_clips:])
        z = (xt - sigma * v) * std + mean  # [B, C, F, h, w]
        groups = frames_to_groups(video)  # [B, F, 12, H, W]
        last, c8 = z.shape[2] - 1, crop // S_FACTOR
        picked: list = [[] for _ in range(2 + ae.dec.context)]
        pool.last_picks, pool.last_places = [], []  # as groups() leaves them, for object_masks()
        for b, clip in enumerate(picks):
            for _ in range(per_clip):
                g = int(rng.integers(0, last + 1))
                pool.last_picks.append(clip)
                y, x = pool.place_crop(clip, g, crop)
                picked[0].append(groups[b, g, :, y:y + crop, x:x + crop])
                for k, other in enumerate(with_neighbours(g, last, ae.dec.context)):
                    picked[1 + k].append(z[b, :, other, y // S_FACTOR:y // S_FACTOR + c8, x // S_FACTOR:x // S_FACTOR + c8])
        return [torch.stack(p) for p in picked]


def recon_loss(y: torch.Tensor, x: torch.Tensor, edge: float = 0.0, objects: torch.Tensor | None = None,
               object_weight: float = 0.0) -> tuple:
    """Weighted L1 + MSE: objects are small, so pixels that differ from the group's mean colour weigh more. That misses
    objects close to their scene's colour (a blue star in the sky, pink at sunset), so `objects` (a mask, 1 on object
    pixels) can add `object_weight` wherever an object is. `edge` weighs an L1 on the horizontal and vertical pixel
    differences: L1 alone leaves a star's points soft where the decoder is unsure, and the eval's object mask (and a
    viewer) then sees a disc."""
    err = (y - x).abs()
    w = 1.0 + 4.0 * (x - x.mean(dim=(2, 3), keepdim=True)).abs().mean(1, keepdim=True)
    if objects is not None:
        w = w + object_weight * objects
    loss = (err * w).mean() + 0.5 * ((y - x) ** 2).mean()
    if edge:
        d = y - x
        loss = loss + edge * ((d[..., 1:, :] - d[..., :-1, :]).abs().mean() + (d[..., 1:] - d[..., :-1]).abs().mean())
    return loss, err


def resume(path: str, ae: "VideoAE", opt: torch.optim.Optimizer) -> int:
    """Loads model and optimiser state from `path` when it exists; returns the step to continue from (0 if not)."""
    ck = load_ckpt(path)
    if not ck:
        return 0
    ae.load_state_dict(ck["model"])
    if ck["opt"] is not None:  # a new stage starts from the previous one's weights with a fresh optimiser
        opt.load_state_dict(ck["opt"])
    print(f"resumed at step {ck['step']}", flush=True)
    return ck["step"]


def train(args) -> None:
    setup_threads()
    torch.manual_seed(0)
    ae = VideoAE()
    opt = torch.optim.AdamW(ae.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(CKPT, ae, opt)
    rng = np.random.default_rng(1000 + step)
    pool = ClipPool(rng)
    prog = Progress(args.steps, step, label="vae")
    t_last_save = time.time()
    ema = None
    while step < args.steps:
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 if step > args.steps * 0.85 else 1.0)
        for gr in opt.param_groups:
            gr["lr"] = lr
        x, = pool.groups(args.batch, args.crop)
        z = ae.enc(x)
        zn = z + torch.randn_like(z) * args.latent_noise * z.detach().std()
        y = ae.dec(zn)
        rec, err = recon_loss(y, x)
        loss = rec + args.latent_l2 * (z ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        l1 = float(err.mean())
        ema = l1 if ema is None else 0.98 * ema + 0.02 * l1
        pool.refresh(2)
        prog.update(step, l1=ema, zstd=float(z.std()))
        if time.time() - t_last_save > 120 or step == args.steps:
            save_ckpt(CKPT, model=ae.state_dict(), opt=opt.state_dict(), step=step)
            t_last_save = time.time()
    print("done", flush=True)


def warmup_cosine(opt: torch.optim.Optimizer, lr: float, step: int, total: int) -> None:
    """The decoder stages' learning rate: 100 steps of warm-up, then a cosine to zero at `total`."""
    for gr in opt.param_groups:
        gr["lr"] = lr * min(1.0, (step + 1) / 100) * (0.5 * (1 + np.cos(np.pi * step / total)))


class StepEnd:
    """How every decoder training step ends: the optimiser step, the running L1 for the progress bar, a few fresh clips
    in the pool, and a checkpoint every 2 minutes and at the last step."""

    def __init__(self, path: str, prog: Progress, pool: ClipPool, total: int, **meta) -> None:
        self.path, self.prog, self.pool, self.total, self.meta = path, prog, pool, total, meta
        self.t_save, self.ema = time.time(), None

    def __call__(self, step: int, ae: "VideoAE", opt: torch.optim.Optimizer, loss: torch.Tensor, err: torch.Tensor,
                 **metrics: float) -> int:
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        l1 = float(err.mean())
        self.ema = l1 if self.ema is None else 0.98 * self.ema + 0.02 * l1
        self.pool.refresh(2)
        self.prog.update(step, l1=self.ema, **metrics)
        if time.time() - self.t_save > 120 or step == self.total:
            save_ckpt(self.path, model=ae.state_dict(), opt=opt.state_dict(), step=step, **self.meta)
            self.t_save = time.time()
        return step


def train_decoder(args, ae: VideoAE, ckpt_path: str, label: str, seed: int) -> None:
    """Trains `ae.dec` on frozen-encoder latents of (group, its context groups), resuming from `ckpt_path`; with
    --denoised-frac, that fraction of the steps decodes the denoiser's estimates instead (DenoisedLatents)."""
    ae.enc.requires_grad_(False)
    denoised = DenoisedLatents(max_sigma=args.max_sigma) if getattr(args, "denoised_frac", 0) > 0 else None
    opt = torch.optim.AdamW(ae.dec.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(ckpt_path, ae, opt)
    rng = np.random.default_rng(seed + step)
    pool = ClipPool(rng)
    end_step = StepEnd(ckpt_path, Progress(args.steps, step, label=label), pool, args.steps,
                       **ae.arch())
    while step < args.steps:
        warmup_cosine(opt, args.lr, step, args.steps)
        if denoised is not None and rng.random() < args.denoised_frac:
            target, *zs = denoised.batch(ae, pool, max(1, args.batch // 4), 4, args.crop)
        else:
            groups = pool.groups(args.batch, args.crop, neighbours=ae.dec.context)
            with torch.no_grad():
                zs = [ae.enc(g) for g in groups]
                sd = zs[0].std()
                zs = [z + torch.randn_like(z) * args.latent_noise * sd for z in zs]
            target = groups[0]
        objects = pool.object_masks(args.crop) if args.object_weight else None
        loss, err = recon_loss(ae.dec(torch.cat(zs, 1)), target, args.edge, objects, args.object_weight)
        step = end_step(step, ae, opt, loss, err)
    print("done", flush=True)


def finetune_decoder(args) -> None:
    """Stage 1b: the encoder is frozen (latents do not change); the decoder gets the previous latent frame as context,
    starts from the stage-1 decoder (context weights at zero, so it starts exactly where stage 1 ended) and trains on."""
    setup_threads()
    torch.manual_seed(1)
    base = VideoAE()
    base.load_state_dict(load_ckpt(CKPT)["model"])
    ae = VideoAE(decoder_context=1)
    ae.enc.load_state_dict(base.enc.state_dict())
    state = base.dec.state_dict()
    w0 = state["net.0.weight"]
    state["net.0.weight"] = torch.cat([w0, torch.zeros_like(w0)], 1)
    ae.dec.load_state_dict(state)
    train_decoder(args, ae, DEC_CKPT, "vae-dec", 3000)


def stage_input(path: str, command: str, what: str, how: str) -> dict:
    """The checkpoint a stage starts from, or an exit that names the stage to run first."""
    ck = load_ckpt(path)
    if not ck:
        raise SystemExit(f"{command} needs {what} ({path}): {how}")
    return ck


def add_residual_blocks(state: dict, prefix: str, blocks: dict) -> None:
    """Puts new residual blocks (Res, or Sequentials of them) into a smaller network's `state` with the last conv of
    each at zero: every block then passes its input through, and the grown network computes what the smaller one did."""
    for name, block in blocks.items():
        for k, v in block.state_dict().items():
            state[f"{prefix}.{name}.{k}"] = torch.zeros_like(v) if k.split(".")[-2] == "b" else v


def start_stage(path: str, ae: "VideoAE", base: dict, prefix: str = "", blocks: dict | None = None) -> None:
    """Writes step 0 of a stage that starts from `base`'s weights, with `blocks` added under `prefix` as pass-throughs
    (add_residual_blocks), into `ae` and `path`; nothing when `path` already has a checkpoint to resume from."""
    if load_ckpt(path):
        return
    state = dict(base["model"])
    add_residual_blocks(state, prefix, blocks or {})
    ae.load_state_dict(state)
    save_ckpt(path, model=ae.state_dict(), opt=None, step=0, **ae.arch())


def grow_decoder(args) -> None:
    """Stage 1c: the encoder still frozen; the stage-1b decoder grows (the frame after as context too, residual blocks
    at three resolutions) without changing what it computes at first: the new input weights and each new block's last
    conv start at zero. Then it trains on."""
    setup_threads()
    torch.manual_seed(2)
    base = stage_input(DEC_CKPT, "grow-decoder", "the stage-1b decoder", "run `vae.py finetune-decoder` first")
    ae = VideoAE(decoder_context=2, decoder_extra=True)
    state = dict(base["model"])
    w0 = state["dec.net.0.weight"]
    state["dec.net.0.weight"] = torch.cat([w0, torch.zeros_like(w0[:, :LATENT_C])], 1)
    add_residual_blocks(state, "dec", {"low": ae.dec.low, "mid": ae.dec.mid, "high": ae.dec.high})
    ae.load_state_dict(state)
    train_decoder(args, ae, DEC2_CKPT, "vae-dec2", 5000)


def joint_train(args, ae: VideoAE, old: VideoAE, ckpt_path: str, label: str, seed: int) -> None:
    """Encoder and decoder train together from `ckpt_path` (resumed), --recolour of the clips showing objects in random
    RGB colours; --anchor weighs the drift of the world's own clips' latents from `old`'s (frozen) encoder."""
    old.requires_grad_(False)
    opt = torch.optim.AdamW(ae.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(ckpt_path, ae, opt)
    rng = np.random.default_rng(seed + step)
    pool = ClipPool(rng, recolour=args.recolour)
    end_step = StepEnd(ckpt_path, Progress(args.steps, step, label=label), pool, args.steps, **ae.arch())
    while step < args.steps:
        warmup_cosine(opt, args.lr, step, args.steps)
        groups = pool.groups(args.batch, args.crop, neighbours=2)
        own = torch.tensor([not pool.recoloured[k] for k in pool.last_picks], dtype=torch.float32)
        zs = [ae.enc(g) for g in groups]
        with torch.no_grad():
            z_old = old.enc(groups[0])
            sd = z_old.std()
        y = ae.dec(torch.cat([z + torch.randn_like(z) * args.latent_noise * sd for z in zs], 1))
        objects = pool.object_masks(args.crop) if args.object_weight else None
        rec, err = recon_loss(y, groups[0], args.edge, objects, args.object_weight)
        drift = ((zs[0] - z_old) ** 2).mean(dim=(1, 2, 3)) / sd ** 2
        anchor = (drift * own).sum() / own.sum().clamp(min=1)
        step = end_step(step, ae, opt, rec + args.anchor * anchor, err, drift=float(anchor))
    print("done", flush=True)


def joint_finetune(args) -> None:
    """Stage 2 (train_all.sh then moves the denoiser to its latents in a second runs folder; stage 3 grows its encoder):
    encoder and decoder train together again from stage 1c (the frozen stage-1 encoder never generalised: on
    reconstructions alone shape scores 76% on training combinations and 72% on held-out ones, below the 80% goal).
    --anchor keeps the latents of the world's own clips near stage 1's, so that the denoiser trained on those stays a
    good start for the new ones."""
    setup_threads()
    torch.manual_seed(4)
    base = None
    if not load_ckpt(JOINT_CKPT):
        base = stage_input(DEC2_CKPT, "joint-finetune", "the stage-1c autoencoder", "run `vae.py grow-decoder` first")
        save_ckpt(JOINT_CKPT, model=base["model"], opt=None, step=0, decoder_context=2, decoder_extra=True)
    old = VideoAE.from_checkpoint(base or load_ckpt(DEC2_CKPT))
    joint_train(args, VideoAE(decoder_context=2, decoder_extra=True), old, JOINT_CKPT, "vae-joint", 4000)


def grow_encoder(args) -> None:
    """Stage 3 (run in a runs folder whose vae_dec2 is the stage-2 autoencoder): the encoder grows residual blocks at
    1/2, 1/4 and 1/8 resolution without changing what it computes at first (each new block's last conv starts at
    zero), then encoder and decoder train on together as in stage 2 (the shipped autoencoder). Stage 2 reconstructs
    held-out cases at shape 72% and stars 21-23 times in 35: the latents, not only the decoder, lose the points."""
    setup_threads()
    torch.manual_seed(6)
    base = stage_input(DEC2_CKPT, "grow-encoder", "the stage-2 autoencoder", "see train_all.sh, stage 2")
    old = VideoAE.from_checkpoint(base)
    ae = VideoAE(decoder_context=2, decoder_extra=True, encoder_extra=True)
    start_stage(STAGE3_CKPT, ae, base, "enc", {"res2": ae.enc.res2, "res4": ae.enc.res4, "res8": ae.enc.res8})
    joint_train(args, ae, old, STAGE3_CKPT, "vae-grow-enc", 6000)


def refine_decoder(args) -> None:
    """Decoder refinement (run in a runs folder whose dit/ckpt.pt is the denoiser trained on this autoencoder's
    latents): the encoder frozen, the latest autoencoder's decoder (stage 3, else stage 2) trains on, --denoised-frac of
    its steps decoding that denoiser's own estimates, as stage 1c did. The latents do not change, so the denoiser stays
    valid. Its output is vae_dec3/, which load_trained() then prefers: keep vae_dec2/ and vae3/ links to other folders
    read-only by running it in a folder of its own."""
    setup_threads()
    torch.manual_seed(5)
    base = load_ckpt(STAGE3_CKPT) or stage_input(DEC2_CKPT, "refine-decoder", "the stage-2 or stage-3 autoencoder",
                                                 "see train_all.sh, stages 2 and 3")
    train_decoder(args, VideoAE.from_checkpoint(base), REFINE_CKPT, "vae-refine", 6000)


def deepen_decoder(args) -> None:
    """Stage 6 (run in a runs folder whose vae_dec3 is the stage-5 decoder and dit/ckpt.pt its denoiser): the decoder
    grows residual blocks at 1/4 and 1/2 resolution and one at full resolution (FullResolution), each starting as a
    pass-through, then trains on as stage 5 did. The encoder stays frozen, so latents and denoiser stay valid."""
    setup_threads()
    torch.manual_seed(7)
    base = stage_input(REFINE_CKPT, "deepen-decoder", "the stage-5 decoder", "see train_all.sh, stage 5")
    ae = VideoAE(decoder_context=2, decoder_extra=True, encoder_extra=True, decoder_deep=True)
    start_stage(DEEP_CKPT, ae, base, "dec", {"mid2": ae.dec.mid2, "high2": ae.dec.high2, "full": ae.dec.full})
    train_decoder(args, ae, DEEP_CKPT, "vae-deep", 7000)


def refine_joint(args) -> None:
    """Encoder stage 6 (experiment; run in a runs folder whose vae_dec3 is the stage-5 autoencoder): encoder and
    decoder train together again from stage 5, with --object-weight on the object masks as stage 5's decoder had. The
    stage-5 decoder alone still loses stars orbiting in the sky (`sample.py --recon`): the latent of a fast object's
    four places in a group blurs them, which only the encoder can change. The latents change, so the denoiser has to be
    moved onto them afterwards (re-encode, then train_dit.py --init-from), as stages 2 and 3 were."""
    setup_threads()
    torch.manual_seed(8)
    base = stage_input(REFINE_CKPT, "refine-joint", "the stage-5 autoencoder", "see train_all.sh, stage 5")
    old = VideoAE.from_checkpoint(base)
    start_stage(JOINT6_CKPT, old, base)
    joint_train(args, VideoAE.from_checkpoint(base), old, JOINT6_CKPT, "vae-joint6", 8000)


def refit_encoder(args) -> None:
    """Encoder stage R: a new encoder for a decoder whose own encoder is lost (a runs folder that import_package.py made
    from a package without vae_encoder/). The decoder stays frozen, so the imported denoiser's latents stay valid; the
    encoder learns to invert it. Many latents decode alike, so --stats-weight holds whole clips' latents to the
    per-channel mean and std the denoiser was trained on (its checkpoint's latents_mean/std): the preimage it knows.
    Train it on whole frames (--crop 128): on 64-pixel crops it learned latents that depend on the crop's borders
    (reconstruction L1 0.033 on crops, 0.38 on whole clips); the original encoders trained jointly with their decoder."""
    setup_threads()
    torch.manual_seed(4)
    base = stage_input(PACKAGE_CKPT, "refit-encoder", "an imported package", "run `import_package.py` first")
    dit = stage_input(os.path.join(RUNS, "dit", "ckpt.pt"), "refit-encoder", "the imported denoiser",
                      "run `import_package.py` first")
    mean, std = (torch.as_tensor(dit[k]).float()[None, :, None, None, None] for k in ("mean", "std"))
    ae = VideoAE.from_checkpoint(base)
    start_stage(REFIT_CKPT, ae, base)
    ae.encoder_trained = True  # what every checkpoint after step 0 records
    ae.dec.requires_grad_(False)
    opt = torch.optim.AdamW(ae.enc.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(REFIT_CKPT, ae, opt)
    rng = np.random.default_rng(9000 + step)
    pool = ClipPool(rng, recolour=args.recolour)
    end_step = StepEnd(REFIT_CKPT, Progress(args.steps, step, label="vae-refit"), pool, args.steps, **ae.arch())
    while step < args.steps:
        warmup_cosine(opt, args.lr, step, args.steps)
        groups = pool.groups(args.batch, args.crop, neighbours=ae.dec.context)
        zs = [ae.enc(g) for g in groups]
        sd = zs[0].detach().std()
        y = ae.dec(torch.cat([z + torch.randn_like(z) * args.latent_noise * sd for z in zs], 1))
        objects = pool.object_masks(args.crop) if args.object_weight else None
        rec, err = recon_loss(y, groups[0], args.edge, objects, args.object_weight)
        clips = to_tensor(np.stack([pool.clips[pool.captioned()] for _ in range(2)]))  # the world's colours
        zn = (ae.encode(clips) - mean) / std
        off = (zn.mean(dim=(0, 2, 3, 4)) ** 2 + (zn.std(dim=(0, 2, 3, 4)) - 1) ** 2).mean()
        step = end_step(step, ae, opt, rec + args.stats_weight * off, err, stats=float(off))
    print("done", flush=True)


def load_trained(need_encoder: bool = True) -> VideoAE:
    """The autoencoder of the latest stage that has run in this runs folder: in a folder made by import_package.py, a
    refitted encoder, else the package's autoencoder; in the recipe's folders, encoder stage 6, else a deepened decoder,
    stage 6, else a refined decoder, stage 2b or 5, else 3, else 1c or stage 2 copied in its place, else 1b, else 1.
    `need_encoder`: exit, naming the stage to run, when its encoder is untrained (the decoder alone is then fine)."""
    ck = (load_ckpt(REFIT_CKPT) or load_ckpt(PACKAGE_CKPT) or load_ckpt(JOINT6_CKPT) or load_ckpt(DEEP_CKPT)
          or load_ckpt(REFINE_CKPT) or load_ckpt(STAGE3_CKPT) or load_ckpt(DEC2_CKPT) or load_ckpt(DEC_CKPT)
          or load_ckpt(CKPT))
    if ck is None:
        raise SystemExit(f"no autoencoder checkpoint in {RUNS}: train one (train_all.sh) or import a package "
                         "(import_package.py)")
    ae = VideoAE.from_checkpoint(ck).eval()
    if need_encoder and not ae.encoder_trained:
        raise SystemExit(f"the autoencoder in {RUNS} was imported from a package without vae_encoder/, so it has no "
                         "trained encoder: run `vae.py refit-encoder` first")
    return ae


@torch.no_grad()
def stats(args) -> None:
    """Per-channel latent mean/std and least-squares latent->RGB preview factors, saved next to the checkpoint."""
    setup_threads()
    ae = load_trained()
    rng = np.random.default_rng(77)
    zs, rgbs, errs = [], [], []
    for _ in range(args.clips // 8):
        v = to_tensor(np.stack([W.render(W.sample_clip(rng)) for _ in range(8)]))
        z = ae.encode(v)
        errs.append(float((ae.decode(z) - v).abs().mean()))
        zs.append(z)
        # each latent pixel covers 4 frames x 8x8 pixels: its preview colour is their mean
        g = frames_to_groups(v)  # [B, g, 12, H, W]
        b, n = g.shape[:2]
        g = g.reshape(b, n, 4, 3, *g.shape[-2:]).mean(2)
        rgb = F.avg_pool2d(g.flatten(0, 1), 8).reshape(b, n, 3, *z.shape[-2:]).permute(0, 2, 1, 3, 4)
        rgbs.append(rgb)
    z = torch.cat(zs).permute(0, 2, 3, 4, 1).reshape(-1, LATENT_C)
    rgb = torch.cat(rgbs).permute(0, 2, 3, 4, 1).reshape(-1, 3)
    mean, std = z.mean(0), z.std(0)
    a = torch.cat([z, torch.ones(len(z), 1)], 1)
    sol = torch.linalg.lstsq(a, rgb).solution  # [C+1, 3]
    fit = float((a @ sol - rgb).abs().mean())
    out = {"latents_mean": mean.tolist(), "latents_std": std.tolist(),
           "latent_rgb": {"factors": sol[:-1].tolist(), "bias": sol[-1].tolist()},
           "recon_l1": float(np.mean(errs)), "preview_fit_l1": fit}
    os.makedirs(os.path.join(RUNS, "vae"), exist_ok=True)  # a later stage's runs folder has no stage-1 checkpoint
    with open(os.path.join(RUNS, "vae", "stats.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"recon L1 {out['recon_l1']:.4f} (in [-1,1] units), preview fit L1 {fit:.4f}")
    print("std", [round(s, 3) for s in out["latents_std"]])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["train", "finetune-decoder", "grow-decoder", "joint-finetune", "refine-decoder",
                                    "grow-encoder", "deepen-decoder", "refine-joint", "refit-encoder", "stats"])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--latent-noise", type=float, default=0.05)
    ap.add_argument("--latent-l2", type=float, default=1e-4)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--denoised-frac", type=float, default=0.0,
                    help="grow-decoder, refine-decoder: fraction of steps on the denoiser's x0 estimates (needs a denoiser "
                         "checkpoint)")
    ap.add_argument("--max-sigma", type=float, default=0.6,
                    help="the noise level those estimates start from is drawn uniformly from [0, MAX_SIGMA]")
    ap.add_argument("--recolour", type=float, default=0.0,
                    help="fraction of training clips whose objects get random RGB colours (joint-finetune, grow-encoder)")
    ap.add_argument("--edge", type=float, default=0.0,
                    help="weight of the L1 on pixel differences (every stage but train): sharper corners")
    ap.add_argument("--object-weight", type=float, default=0.0,
                    help="decoder stages and the joint ones: extra loss weight on every object pixel (the world's object masks)")
    ap.add_argument("--anchor", type=float, default=0.1,
                    help="weight of the latents' drift from the previous stage's (joint-finetune, grow-encoder)")
    ap.add_argument("--stats-weight", type=float, default=0.1,
                    help="refit-encoder: weight of the latents' per-channel mean/std drift from the denoiser's")
    a = ap.parse_args()
    {"train": train, "finetune-decoder": finetune_decoder, "grow-decoder": grow_decoder,
     "joint-finetune": joint_finetune, "refine-decoder": refine_decoder, "grow-encoder": grow_encoder,
     "deepen-decoder": deepen_decoder, "refine-joint": refine_joint, "refit-encoder": refit_encoder,
     "stats": stats}[a.cmd](a)
