"""The trained denoiser as a PyTorch text-to-video sampler (the same Euler flow-matching sampling as the daemon).

sample.py's CLI writes clips with it, and the decoder stages (vae_denoised.py) decode its estimates, so it is a module
of its own that imports no stage: it loads the denoiser from checkpoints.DIT_CKPT and the autoencoder the runs folder
holds (checkpoints.load_trained).
"""
from __future__ import annotations

import numpy as np
import torch

from checkpoints import DIT_CKPT, load_trained
from common import load_ckpt
from models import TextEncoder, VideoDiT
from tokenizer import MAX_LEN, WordTokenizer


def flow_sigmas(steps: int, shift: float) -> np.ndarray:
    """FlowMatchEulerDiscreteScheduler (diffusers) sigmas: linspace over timesteps, shifted, then a final 0."""
    s = np.linspace(1.0, 1.0 / 1000, steps)
    s = shift * s / (1 + (shift - 1) * s)
    return np.append(s, 0.0).astype(np.float32)


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """Decoded video [3, T, H, W] in [-1, 1] -> uint8 [T, H, W, 3]."""
    return ((video.clamp(-1, 1).permute(1, 2, 3, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()


class Sampler:
    def __init__(self, ema: bool = True, ckpt: str = DIT_CKPT) -> None:
        ck = load_ckpt(ckpt)
        self.tok = WordTokenizer(ck["vocab"])
        self.text = TextEncoder(len(self.tok.vocab), max_len=MAX_LEN, **ck["text_arch"]).eval()
        self.dit = VideoDiT(in_ch=len(ck["mean"]), text_dim=ck["text_arch"]["dim"], **ck["arch"]).eval()
        self.text.load_state_dict(ck["ema_text" if ema else "text"])
        self.dit.load_state_dict(ck["ema_dit" if ema else "dit"])
        self.mean, self.std, self.step = ck["mean"], ck["std"], ck["step"]
        self.ae = load_trained(need_encoder=False)  # it only decodes

    @torch.no_grad()
    def __call__(self, prompt: str, seed: int, steps: int = 20, guidance: float = 4.5, shift: float = 3.0,
                 frames: int = 17) -> np.ndarray:
        ids = torch.from_numpy(self.tok.batch([prompt, ""]))
        ctx = self.text(ids)
        f = 1 + (frames - 1) // 4
        x = torch.randn((1, len(self.mean), f, 16, 16), generator=torch.Generator().manual_seed(seed))
        sig = flow_sigmas(steps, shift)
        for i in range(steps):
            v2 = self.dit(x.repeat(2, 1, 1, 1, 1), torch.full((2,), float(sig[i]) * 1000), ctx)
            v = v2[1:] + guidance * (v2[:1] - v2[1:])
            x = x + (float(sig[i + 1]) - float(sig[i])) * v
        return self.decode(x)

    def decode(self, x: torch.Tensor) -> np.ndarray:
        """Normalised latents [1, C, F, h, w] -> uint8 video [T, H, W, 3]."""
        z = x * self.std[None, :, None, None, None] + self.mean[None, :, None, None, None]
        return to_uint8(self.ae.decode(z)[0])

    @torch.no_grad()
    def prior(self, prompt: str, noises: int = 8, frames: int = 17) -> np.ndarray:
        """Mean x0 estimate at sigma = 1 over a few noises, decoded: at sigma = 1 the input holds nothing of the clip,
        so the ideal estimate is E[x0 | prompt] whatever the noise."""
        ctx = self.text(torch.from_numpy(self.tok.batch([prompt] * noises)))
        n = torch.randn((noises, len(self.mean), 1 + (frames - 1) // 4, 16, 16), generator=torch.Generator().manual_seed(1))
        return self.decode((n - self.dit(n, torch.full((noises,), 1000.0), ctx)).mean(0, keepdim=True))
