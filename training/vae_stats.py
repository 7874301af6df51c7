"""`vae.py stats`: the trained autoencoder's latent statistics, which the denoiser's normalisation and the package's
preview factors come from (export.py reads them back from checkpoints.VAE_STATS).
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

import world as W
from checkpoints import VAE_STATS, load_trained
from common import setup_threads
from vae_model import LATENT_C, frames_to_groups, to_tensor


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
    os.makedirs(os.path.dirname(VAE_STATS), exist_ok=True)  # a later stage's runs folder has no stage-1 checkpoint
    with open(VAE_STATS, "w") as f:
        json.dump(out, f, indent=1)
    print(f"recon L1 {out['recon_l1']:.4f} (in [-1,1] units), preview fit L1 {fit:.4f}")
    print("std", [round(s, 3) for s in out["latents_std"]])
