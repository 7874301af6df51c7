"""Small shared helpers: progress bar, resumable checkpoints, thread settings."""
from __future__ import annotations

import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.environ.get("TINY_WORLD_RUNS", os.path.join(HERE, "runs"))


def setup_threads() -> None:
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "2")))


class Progress:
    """A text progress bar that also reads well in a log file (one line per update)."""

    def __init__(self, total: int, start: int = 0, every_s: float = 15.0, label: str = "") -> None:
        self.total, self.start, self.every_s, self.label = total, start, every_s, label
        self.t0 = time.time()
        self.last = 0.0

    def update(self, step: int, **metrics: float) -> None:
        now = time.time()
        if now - self.last < self.every_s and step < self.total:
            return
        self.last = now
        done = step - self.start
        rate = done / max(1e-6, now - self.t0)
        eta = (self.total - step) / max(1e-9, rate)
        frac = step / self.total
        bar = "#" * int(frac * 30) + "-" * (30 - int(frac * 30))
        ms = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        print(f"{self.label} [{bar}] {step}/{self.total} {rate:.2f} it/s eta {eta / 60:.1f} min {ms}", flush=True)
        sys.stdout.flush()


def save_ckpt(path: str, **state) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_ckpt(path: str):
    if os.path.exists(path):
        return torch.load(path, map_location="cpu")
    return None
