"""The package's tiny preview decoder (preview/model.onnx): a ~80k-parameter conv net trained to imitate the VAE decoder
at half its size, so that a preview of the denoiser's x0 estimate looks like the clip it will become (the approach of
TAESD / TAEHV), at a cost small enough to run every few hundred milliseconds inside the denoising loop.

    /usr/bin/python3 training/train_preview.py data   [--runs R] [--batches 10]   # trajectories -> R/preview/data.pt
    /usr/bin/python3 training/train_preview.py train  [--runs R] [--minutes 15]   # fit -> R/preview/ckpt.pt
    /usr/bin/python3 training/train_preview.py export [--runs R] [--out models/tiny-world]  # -> <out>/preview/model.onnx
    /usr/bin/python3 training/train_preview.py psnr   [--runs R]                  # last-preview PSNR on held-out prompts

R is a runs folder with the package imported (import_package.py): the PyTorch sampler (sampler.py) runs the denoiser
with the daemon's Euler flow-matching loop on captions of the world, and every step's x0 estimate, in decoder space
(x * std + mean), is what the daemon feeds preview() (text-to-video.ts). The target is the full VAE decoder's output on
the same latent, 2x2-averaged to half size. Runs on one thread (torch.set_num_threads(1): other training shares the CPU).

I/O: latent_sample float [B, C, F, h, w] -> sample float [B, 3, 1 + 4(F-1), 4h, 4w] in [-1, 1] (half the VAE's 8x).
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

import world as W  # noqa: E402
from common import RUNS, load_ckpt, save_ckpt  # noqa: E402
from export import OPSET  # noqa: E402
from sampler import Sampler, flow_sigmas  # noqa: E402
from vae_model import LATENT_C, T_FACTOR, groups_to_frames  # noqa: E402

# Output scale against the latent: the VAE's is 8, the preview's 4 (a 128x128 clip previews at 64x64).
PREVIEW_SCALE = 4
WIDTH = 56


class PreviewDecoder(nn.Module):
    """Per latent frame, with its neighbours as context (the VAE decoder's layout: itself, the one before, the one
    after), at the latent's 16x16: three convs, then a 1x1 to 4 frames x RGB x 4x4 sub-pixels, shuffled to 64x64, and one
    3x3 at full preview size to smooth the sub-pixel seams. All heavy work stays at latent resolution: ~20M MACs per
    latent frame."""

    def __init__(self, c: int = LATENT_C, width: int = WIDTH) -> None:
        super().__init__()
        out = T_FACTOR * 3
        self.inp = nn.Conv2d(3 * c, width, 3, padding=1)
        self.mid1 = nn.Conv2d(width, width, 3, padding=1)
        self.mid2 = nn.Conv2d(width, width, 3, padding=1)
        self.to_pixels = nn.Conv2d(width, out * PREVIEW_SCALE * PREVIEW_SCALE, 1)
        self.smooth = nn.Conv2d(out, out, 3, padding=1)
        nn.init.zeros_(self.smooth.weight), nn.init.zeros_(self.smooth.bias)

    def forward(self, latent_sample: torch.Tensor) -> torch.Tensor:
        z = latent_sample
        b, c, f, h, w = z.shape
        prev = torch.cat([z[:, :, :1], z[:, :, :-1]], 2)
        nxt = torch.cat([z[:, :, 1:], z[:, :, -1:]], 2)
        x = torch.cat([z, prev, nxt], 1).permute(0, 2, 1, 3, 4).reshape(b * f, 3 * c, h, w)
        x = F.silu(self.inp(x))
        x = x + F.silu(self.mid1(x))
        x = x + F.silu(self.mid2(x))
        x = F.pixel_shuffle(self.to_pixels(x), PREVIEW_SCALE)
        x = x + self.smooth(x)
        x = x.reshape(b, f, T_FACTOR * 3, h * PREVIEW_SCALE, w * PREVIEW_SCALE)
        return groups_to_frames(x).clamp(-1, 1)


def half(video: torch.Tensor) -> torch.Tensor:
    """[B, 3, T, H, W] -> [B, 3, T, H/2, W/2] by 2x2 averaging (the preview's target)."""
    b, c, t, h, w = video.shape
    return F.avg_pool2d(video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w), 2).reshape(b, t, c, h // 2, w // 2).permute(0, 2, 1, 3, 4)


@torch.no_grad()
def trajectories(s: Sampler, prompts: list, seed: int, steps: int, guidance: float = 4.5, shift: float = 3.0) -> tuple:
    """The daemon's loop on a batch of prompts: ([steps, B, C, F, h, w] x0 estimates in decoder space, [B, ...] final)."""
    n = len(prompts)
    ctx = s.text(torch.from_numpy(s.tok.batch(prompts + [""] * n)))
    x = torch.randn((n, len(s.mean), 5, 16, 16), generator=torch.Generator().manual_seed(seed))
    sig = flow_sigmas(steps, shift)
    mean, std = s.mean[None, :, None, None, None], s.std[None, :, None, None, None]
    x0s = []
    for i in range(steps):
        v2 = s.dit(x.repeat(2, 1, 1, 1, 1), torch.full((2 * n,), float(sig[i]) * 1000), ctx)
        v = v2[n:] + guidance * (v2[:n] - v2[n:])
        x0s.append((x - float(sig[i]) * v) * std + mean)
        x = x + (float(sig[i + 1]) - float(sig[i])) * v
    return torch.stack(x0s), x * std + mean


def make_data(args) -> None:
    s = Sampler()
    rng = np.random.default_rng(args.seed)
    lat, tgt = [], []
    t0 = time.time()
    for k in range(args.batches):
        prompts = [W.caption(W.sample_clip(rng), rng) for _ in range(args.batch)]
        steps = int(rng.choice([10, 20, 20, 30]))
        x0s, final = trajectories(s, prompts, seed=args.seed * 1000 + k, steps=steps)
        # Every step's estimate is a preview the daemon may show; keep a spread (the early, blurry ones too) + the end.
        picks = sorted(set(rng.choice(steps, size=min(steps, args.per_traj), replace=False).tolist()))
        zs = torch.cat([x0s[i] for i in picks] + [final])
        with torch.no_grad():
            dec = torch.cat([half(s.ae.decode(zs[j:j + 4]).clamp(-1, 1)) for j in range(0, len(zs), 4)])
        lat.append(zs.half())
        tgt.append(((dec + 1) * 127.5).round().clamp(0, 255).byte())
        print(f"data batch {k + 1}/{args.batches}: {steps} steps, {len(zs)} latents, {time.time() - t0:.0f} s", flush=True)
    path = os.path.join(args.runs, "preview", "data.pt")
    save_ckpt(path, latents=torch.cat(lat), targets=torch.cat(tgt))
    print(f"wrote {path}: {sum(len(x) for x in lat)} latents", flush=True)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Both in [-1, 1]; PSNR on the 0..255 scale."""
    mse = float(((a - b) * 127.5).pow(2).mean())
    return 10 * math.log10(255 ** 2 / max(mse, 1e-10))


def train(args) -> None:
    data = load_ckpt(os.path.join(args.runs, "preview", "data.pt"))
    lat, tgt = data["latents"].float(), data["targets"]
    n = len(lat)
    held = max(4, n // 20)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    val, tr = perm[:held], perm[held:]
    net = PreviewDecoder()
    print(f"preview decoder: {sum(p.numel() for p in net.parameters())} parameters; {len(tr)} train, {held} held out", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    t0, step, deadline = time.time(), 0, time.time() + args.minutes * 60
    rng = torch.Generator().manual_seed(1)
    while time.time() < deadline:
        frac = (time.time() - t0) / (args.minutes * 60)
        for g in opt.param_groups:
            g["lr"] = args.lr * (0.5 * (1 + math.cos(math.pi * min(1.0, frac))) * 0.95 + 0.05)
        idx = tr[torch.randint(len(tr), (args.batch,), generator=rng)]
        x, y = lat[idx], tgt[idx].float() / 127.5 - 1
        out = net(x)
        loss = F.l1_loss(out, y) + F.mse_loss(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            with torch.no_grad():
                p = psnr(net(lat[val]), tgt[val].float() / 127.5 - 1)
            print(f"step {step} {time.time() - t0:.0f} s loss {loss.item():.4f} held-out PSNR vs VAE {p:.2f} dB", flush=True)
            save_ckpt(os.path.join(args.runs, "preview", "ckpt.pt"), model=net.state_dict(), step=step)
    save_ckpt(os.path.join(args.runs, "preview", "ckpt.pt"), model=net.state_dict(), step=step)
    print(f"done: {step} steps in {time.time() - t0:.0f} s", flush=True)


def load_net(runs: str) -> PreviewDecoder:
    ck = load_ckpt(os.path.join(runs, "preview", "ckpt.pt"))
    if ck is None:
        raise SystemExit(f"no preview checkpoint in {runs}/preview: run `train_preview.py train` first")
    net = PreviewDecoder()
    net.load_state_dict(ck["model"])
    return net.eval()


def export(args) -> None:
    net = load_net(args.runs)
    out = os.path.join(os.path.abspath(args.out), "preview", "model.onnx")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    z = torch.randn(1, LATENT_C, 5, 16, 16, generator=torch.Generator().manual_seed(0))
    axes = {"latent_sample": {0: "batch", 2: "frames", 3: "height", 4: "width"},
            "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}}
    torch.onnx.export(net, (z,), out, opset_version=OPSET, input_names=["latent_sample"], output_names=["sample"],
                      dynamic_axes=axes)
    print(f"wrote {out} ({os.path.getsize(out)} bytes, {sum(p.numel() for p in net.parameters())} parameters)")


@torch.no_grad()
def measure(args) -> None:
    """On held-out prompts (another seed than the data's): each step's preview, nearest-upscaled to the clip's size as
    the daemon sends it, against the final clip; and the latent->RGB factors' preview for comparison."""
    s, net = Sampler(), load_net(args.runs)
    rng = np.random.default_rng(999)
    prompts = [W.caption(W.sample_clip(rng), rng) for _ in range(4)]
    x0s, final = trajectories(s, prompts, seed=4242, steps=20)
    clip = s.ae.decode(final).clamp(-1, 1)
    for i in (0, 5, 10, 15, 18):
        up = F.interpolate(net(x0s[i]).flatten(1, 2), scale_factor=2, mode="nearest").reshape(clip.shape)
        print(f"step {i + 1}/20: preview vs final clip {psnr(up, clip):.2f} dB (x0 through the VAE: {psnr(s.ae.decode(x0s[i]).clamp(-1, 1), clip):.2f} dB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["data", "train", "export", "psnr"])
    ap.add_argument("--runs", default=RUNS)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--per-traj", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "tiny-world"))
    args = ap.parse_args()
    {"data": make_data, "train": train, "export": export, "psnr": measure}[args.cmd](args)


if __name__ == "__main__":
    main()
