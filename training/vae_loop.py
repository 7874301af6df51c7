"""What every autoencoder training loop shares: resuming from a stage's checkpoint, the learning-rate schedule, and
how a step ends (optimiser step, progress, fresh clips, periodic checkpoint).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from common import Progress, load_ckpt, save_ckpt
from vae_data import ClipPool
from vae_model import VideoAE


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
