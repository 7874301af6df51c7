"""The video autoencoder's networks: causal 4x in time, 8x in space, 16 latent channels.

Time is compressed Wan-style and causally: the first frame is encoded alone (as a group of four copies of itself), then
each following group of 4 frames becomes one latent frame, so 17 frames -> 5 latent frames and 1 frame -> 1 latent frame.
Each group is handled by a 2D conv net on its 12 stacked channels, which keeps the decoder cheap on a CPU.

Only the modules and the pixel <-> group layout live here, so that the denoiser's stage, the sampler, the exporter and
the importer can build an autoencoder without importing its training stages (vae_stages.py) or anything of a runs
folder (checkpoints.py says which trained autoencoder to load).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_C = 16
T_FACTOR = 4
S_FACTOR = 8


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
