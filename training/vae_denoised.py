"""The decoder stages' second data source: latents as the trained denoiser leaves them (--denoised-frac), built on the
PyTorch sampler (sampler.py) and cut like ClipPool's groups so that a stage can mix the two.
"""
from __future__ import annotations

import numpy as np
import torch

import world as W
from sampler import Sampler
from vae_data import ClipPool, with_neighbours
from vae_model import S_FACTOR, VideoAE, frames_to_groups, to_tensor


class DenoisedLatents:
    """Latents as the denoiser leaves them: a clip's latent noised to a random sigma and replaced by the denoiser's
    guided x0 estimate for its caption. The decoder only ever sees such latents when it runs in the pipeline, and they
    are softer than the encoder's (a posterior mean), so stage 1c also trains on them, with the clip as the target."""

    def __init__(self, guidance: float = 4.5, max_sigma: float = 0.6) -> None:
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
