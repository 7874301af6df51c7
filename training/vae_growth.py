"""How an autoencoder stage starts from the one before it: the checkpoint it needs (or an exit naming the stage to run
first), and new residual blocks added as pass-throughs, so a grown network first computes what the smaller one did.
"""
from __future__ import annotations

import torch

from common import load_ckpt, save_ckpt
from vae_model import VideoAE


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
