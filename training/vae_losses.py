"""The autoencoder stages' reconstruction loss (one definition, so every stage weighs objects and edges alike)."""
from __future__ import annotations

import torch


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
