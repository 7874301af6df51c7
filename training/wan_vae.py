"""Wan's video autoencoder (diffusers' AutoencoderKLWan) in plain PyTorch 1.13, for the ONNX export.

export_wan.py cannot import diffusers, so this rebuilds the network with the checkpoint's config keys (vae/config.json)
and parameter names (its safetensors load with strict=True): Wan2.2's residual variant (`is_residual`, 2x2
patchify, z_dim 48, 16x spatial and 4x temporal) and Wan2.1's (z_dim 16, 8x spatial, no patchify).

diffusers decodes one latent frame at a time, carrying each causal convolution's last two input frames in a feature
cache, and encodes 1 + 4 + 4 ... frames at a time the same way. That loop cannot be one ONNX graph. Here each
network is one causal pass over the whole clip: a cached causal convolution is a convolution over the whole sequence
with zeros before frame 0, and the places where the first chunk is special are written as such:
  - a temporal upsample passes frame 0 through as one frame (diffusers' "Rep"), and its time convolution sees the
    frames after it with zeros in frame 0's place;
  - a temporal downsample passes frame 0 through and its stride-2 convolution runs over frames 0.. without padding;
  - the residual up block's duplicating shortcut drops the first factor_t - 1 frames (diffusers' first_chunk).
So the first latent frame decodes to one frame, F latent frames to 1 + 4(F - 1), and 1 + 4k frames encode to 1 + k.
wan_vae_reference.py is the frame-by-frame cached loop, written after diffusers, that the test checks this against.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Config keys the class takes and their diffusers defaults; others (_class_name, clip_output, ...) are ignored.
DEFAULTS = {
    "base_dim": 96, "decoder_base_dim": None, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2,
    "attn_scales": [], "temperal_downsample": [False, True, True], "dropout": 0.0, "is_residual": False,
    "in_channels": 3, "out_channels": 3, "patch_size": None, "scale_factor_temporal": 4, "scale_factor_spatial": 8,
    "latents_mean": None, "latents_std": None,
}


class CausalConv3d(nn.Conv3d):
    """diffusers' WanCausalConv3d without its cache: zeros before frame 0 (2 * temporal padding), none after."""

    def __init__(self, cin: int, cout: int, kernel, stride=1, padding=0) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=padding)
        self.causal_pad = (self.padding[2], self.padding[2], self.padding[1], self.padding[1], 2 * self.padding[0], 0)
        self.padding = (0, 0, 0)

    def forward(self, x: torch.Tensor, cache: torch.Tensor | None = None) -> torch.Tensor:
        pad = list(self.causal_pad)
        if cache is not None and pad[4] > 0:  # the frame-by-frame reference's path (wan_vae_reference.py)
            x = torch.cat([cache, x], dim=2)
            pad[4] -= cache.shape[2]
        return super().forward(F.pad(x, pad))


class RMSNorm(nn.Module):
    """diffusers' WanRMS_norm: L2-normalise over channels, times sqrt(dim) and a per-channel gain."""

    def __init__(self, dim: int, images: bool = True) -> None:
        super().__init__()
        self.scale = dim ** 0.5
        self.gamma = nn.Parameter(torch.ones((dim, 1, 1) if images else (dim, 1, 1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) * self.scale * self.gamma


def frames_to_batch(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    b, c, t, h, w = x.shape
    return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w), b


def batch_to_frames(x: torch.Tensor, b: int) -> torch.Tensor:
    bt, c, h, w = x.shape
    return x.reshape(b, bt // b, c, h, w).permute(0, 2, 1, 3, 4)


class Resample(nn.Module):
    """diffusers' WanResample: 2x spatial up/down per frame, with a causal time convolution for the 3d modes."""

    def __init__(self, dim: int, mode: str, upsample_out_dim: int | None = None) -> None:
        super().__init__()
        self.mode = mode
        out = dim // 2 if upsample_out_dim is None else upsample_out_dim
        if mode in ("upsample2d", "upsample3d"):
            # nearest-exact at exactly 2x is nearest (PyTorch 1.13's exporter knows only "nearest")
            self.resample = nn.Sequential(nn.Upsample(scale_factor=(2.0, 2.0), mode="nearest"), nn.Conv2d(dim, out, 3, padding=1))
        elif mode in ("downsample2d", "downsample3d"):
            self.resample = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(dim, dim, 3, stride=(2, 2)))
        else:
            self.resample = nn.Identity()
        if mode == "upsample3d":
            self.time_conv = CausalConv3d(dim, dim * 2, (3, 1, 1), padding=(1, 0, 0))
        elif mode == "downsample3d":
            self.time_conv = CausalConv3d(dim, dim, (3, 1, 1), stride=(2, 1, 1), padding=(0, 0, 0))

    @staticmethod
    def interleave(y: torch.Tensor) -> torch.Tensor:
        """[B, 2C, T, H, W] -> [B, C, 2T, H, W]: the first C channels are each frame's first half (diffusers' stack)."""
        b, c2, t, h, w = y.shape
        y = y.reshape(b, 2, c2 // 2, t, h, w)
        return torch.stack((y[:, 0], y[:, 1]), 3).reshape(b, c2 // 2, t * 2, h, w)

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        flat, b = frames_to_batch(x)
        return batch_to_frames(self.resample(flat), b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "upsample3d":
            # frame 0 through as one frame; the others doubled by a causal conv that sees zeros where frame 0 was.
            # Computed over all T frames (T >= 1, so the graph never convolves an empty clip) and frame 0's pair dropped
            rest = torch.cat([torch.zeros_like(x[:, :, :1]), x[:, :, 1:]], dim=2)
            x = torch.cat([x[:, :, :1], self.interleave(self.time_conv(rest))[:, :, 2:]], dim=2)
        x = self.spatial(x)
        if self.mode == "downsample3d":
            # frame 0 through; stride-2 windows (0,1,2), (2,3,4), ... over 1 + 2k frames. Two zero frames after the
            # end let a single frame (an image) give one empty window, dropped, instead of a convolution that cannot run
            zero = torch.zeros_like(x[:, :, :1])
            x = torch.cat([x[:, :, :1], self.time_conv(torch.cat([x, zero, zero], dim=2))[:, :, :-1]], dim=2)
        return x


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = RMSNorm(cin, images=False)
        self.conv1 = CausalConv3d(cin, cout, 3, padding=1)
        self.norm2 = RMSNorm(cout, images=False)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = CausalConv3d(cout, cout, 3, padding=1)
        self.conv_shortcut = CausalConv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_shortcut(x)
        x = self.conv1(F.silu(self.norm1(x)))
        x = self.conv2(self.dropout(F.silu(self.norm2(x))))
        return x + h


class AttentionBlock(nn.Module):
    """diffusers' WanAttentionBlock: single-head self-attention over each frame's pixels."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = RMSNorm(dim)
        self.to_qkv = nn.Conv2d(dim, dim * 3, 1)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        flat, b = frames_to_batch(x)
        n, c, h, w = flat.shape
        qkv = self.to_qkv(self.norm(flat)).reshape(n, c * 3, h * w).permute(0, 2, 1)
        q, k, v = qkv.chunk(3, dim=-1)
        a = ((q @ k.transpose(1, 2)) * (1.0 / math.sqrt(c))).softmax(-1) @ v  # F.scaled_dot_product_attention
        out = self.proj(a.permute(0, 2, 1).reshape(n, c, h, w))
        return batch_to_frames(out, b) + identity


class MidBlock(nn.Module):
    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.attentions = nn.ModuleList([AttentionBlock(dim)])
        self.resnets = nn.ModuleList([ResidualBlock(dim, dim, dropout), ResidualBlock(dim, dim, dropout)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.resnets[0](x)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            x = resnet(attn(x))
        return x


class AvgDown3D(nn.Module):
    """Wan2.2's parameter-free shortcut: space/time to channels, then the mean of channel groups."""

    def __init__(self, cin: int, cout: int, factor_t: int, factor_s: int = 1) -> None:
        super().__init__()
        self.cout, self.ft, self.fs = cout, factor_t, factor_s
        self.group = cin * factor_t * factor_s * factor_s // cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # diffusers pads (factor_t - T % factor_t) % factor_t zeros in front; clips here have 1 + 2k frames, so that
        # is factor_t - 1 (a constant keeps the graph free of shape-dependent padding)
        x = F.pad(x, (0, 0, 0, 0, self.ft - 1, 0))
        b, c, t, h, w = x.shape
        ft, fs = self.ft, self.fs
        x = x.reshape(b, c, t // ft, ft, h // fs, fs, w // fs, fs).permute(0, 1, 3, 5, 7, 2, 4, 6)
        x = x.reshape(b, self.cout, self.group, t // ft, h // fs, w // fs)
        return x.mean(dim=2)


class DupUp3D(nn.Module):
    """Wan2.2's parameter-free shortcut: channels repeated and spread into time/space; frame 0 gives one frame."""

    def __init__(self, cin: int, cout: int, factor_t: int, factor_s: int = 1) -> None:
        super().__init__()
        self.cout, self.ft, self.fs = cout, factor_t, factor_s
        self.repeats = cout * factor_t * factor_s * factor_s // cin

    def forward(self, x: torch.Tensor, first_chunk: bool = True) -> torch.Tensor:
        b, _, t, h, w = x.shape
        ft, fs = self.ft, self.fs
        x = x.repeat_interleave(self.repeats, dim=1).reshape(b, self.cout, ft, fs, fs, t, h, w)
        x = x.permute(0, 1, 5, 2, 6, 3, 7, 4).reshape(b, self.cout, t * ft, h * fs, w * fs)
        return x[:, :, ft - 1:] if first_chunk else x


class ResidualDownBlock(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: float, num_res_blocks: int, temporal: bool, down: bool) -> None:
        super().__init__()
        self.avg_shortcut = AvgDown3D(cin, cout, factor_t=2 if temporal else 1, factor_s=2 if down else 1)
        self.resnets = nn.ModuleList([ResidualBlock(cin if i == 0 else cout, cout, dropout) for i in range(num_res_blocks)])
        self.downsampler = Resample(cout, "downsample3d" if temporal else "downsample2d") if down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.avg_shortcut(x)
        for resnet in self.resnets:
            x = resnet(x)
        if self.downsampler is not None:
            x = self.downsampler(x)
        return x + shortcut


class ResidualUpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, num_res_blocks: int, dropout: float, temporal: bool, up: bool) -> None:
        super().__init__()
        self.avg_shortcut = DupUp3D(cin, cout, factor_t=2 if temporal else 1, factor_s=2) if up else None
        self.resnets = nn.ModuleList([ResidualBlock(cin if i == 0 else cout, cout, dropout) for i in range(num_res_blocks + 1)])
        self.upsampler = Resample(cout, "upsample3d" if temporal else "upsample2d", upsample_out_dim=cout) if up else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        for resnet in self.resnets:
            x = resnet(x)
        if self.upsampler is not None:
            x = self.upsampler(x)
        if self.avg_shortcut is not None:
            x = x + self.avg_shortcut(shortcut, first_chunk=True)
        return x


class UpBlock(nn.Module):
    """Wan2.1's up block: residual blocks, then an upsampler whose output halves the channels."""

    def __init__(self, cin: int, cout: int, num_res_blocks: int, dropout: float, mode: str | None) -> None:
        super().__init__()
        self.resnets = nn.ModuleList([ResidualBlock(cin if i == 0 else cout, cout, dropout) for i in range(num_res_blocks + 1)])
        self.upsamplers = nn.ModuleList([Resample(cout, mode)]) if mode else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class Encoder3d(nn.Module):
    def __init__(self, cin: int, dim: int, z_dim: int, dim_mult: list, num_res_blocks: int, attn_scales: list,
                 temporal: list, dropout: float, is_residual: bool) -> None:
        super().__init__()
        dims = [dim * u for u in [1] + list(dim_mult)]
        scale = 1.0
        self.conv_in = CausalConv3d(cin, dims[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        last = len(dim_mult) - 1
        for i, (din, dout) in enumerate(zip(dims[:-1], dims[1:])):
            if is_residual:
                self.down_blocks.append(ResidualDownBlock(din, dout, dropout, num_res_blocks,
                                                          temporal=temporal[i] if i != last else False, down=i != last))
                continue
            for _ in range(num_res_blocks):
                self.down_blocks.append(ResidualBlock(din, dout, dropout))
                if scale in attn_scales:
                    self.down_blocks.append(AttentionBlock(dout))
                din = dout
            if i != last:
                self.down_blocks.append(Resample(dout, "downsample3d" if temporal[i] else "downsample2d"))
                scale /= 2.0
        self.mid_block = MidBlock(dims[-1], dropout)
        self.norm_out = RMSNorm(dims[-1], images=False)
        self.conv_out = CausalConv3d(dims[-1], z_dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(x)
        for layer in self.down_blocks:
            x = layer(x)
        return self.conv_out(F.silu(self.norm_out(self.mid_block(x))))


class Decoder3d(nn.Module):
    def __init__(self, dim: int, z_dim: int, dim_mult: list, num_res_blocks: int, temporal: list, dropout: float,
                 cout: int, is_residual: bool) -> None:
        super().__init__()
        dims = [dim * u for u in [dim_mult[-1]] + list(dim_mult)[::-1]]
        self.conv_in = CausalConv3d(z_dim, dims[0], 3, padding=1)
        self.mid_block = MidBlock(dims[0], dropout)
        self.up_blocks = nn.ModuleList()
        last = len(dim_mult) - 1
        for i, (din, dout) in enumerate(zip(dims[:-1], dims[1:])):
            up = i != last
            if is_residual:
                self.up_blocks.append(ResidualUpBlock(din, dout, num_res_blocks, dropout,
                                                      temporal=temporal[i] if up else False, up=up))
            else:
                din = din // 2 if i > 0 else din  # Wan2.1: the previous upsampler halved the channels
                mode = ("upsample3d" if temporal[i] else "upsample2d") if up else None
                self.up_blocks.append(UpBlock(din, dout, num_res_blocks, dropout, mode))
        self.norm_out = RMSNorm(dims[-1], images=False)
        self.conv_out = CausalConv3d(dims[-1], cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mid_block(self.conv_in(x))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.norm_out(x)))


def patchify(x: torch.Tensor, p: int | None) -> torch.Tensor:
    """[B, C, T, H, W] -> [B, C*p*p, T, H/p, W/p], channel c*p*p + column offset * p + row offset (diffusers' order)."""
    if not p or p == 1:
        return x
    b, c, t, h, w = x.shape
    x = x.reshape(b, c, t, h // p, p, w // p, p).permute(0, 1, 6, 4, 2, 3, 5)
    return x.reshape(b, c * p * p, t, h // p, w // p)


def unpatchify(x: torch.Tensor, p: int | None) -> torch.Tensor:
    if not p or p == 1:
        return x
    b, cp, t, h, w = x.shape
    x = x.reshape(b, cp // (p * p), p, p, t, h, w).permute(0, 1, 4, 5, 3, 6, 2)
    return x.reshape(b, cp // (p * p), t, h * p, w * p)


class AutoencoderKLWan(nn.Module):
    """Same config keys and parameter names as diffusers'; decode/encode are the whole-clip causal passes."""

    def __init__(self, **config) -> None:
        super().__init__()
        cfg = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}
        self.config = cfg
        p = cfg["patch_size"]
        for key in ("base_dim", "z_dim", "num_res_blocks", "in_channels", "out_channels"):
            if not isinstance(cfg[key], int) or cfg[key] < 1:
                raise ValueError(f"{key} must be a positive integer, got {cfg[key]!r}")
        if len(cfg["temperal_downsample"]) != len(cfg["dim_mult"]) - 1:
            raise ValueError(f"temperal_downsample has {len(cfg['temperal_downsample'])} entries; dim_mult "
                             f"{cfg['dim_mult']} needs {len(cfg['dim_mult']) - 1}")
        if p not in (None, 1, 2):
            raise ValueError(f"patch_size {p!r}; allowed: null, 1, 2")
        cin, cout = cfg["in_channels"], cfg["out_channels"]
        if p and p > 1:  # published configs give the patchified counts (12); some diffusers versions take 3 and multiply
            cin, cout = (cin * p * p if cin == 3 else cin), (cout * p * p if cout == 3 else cout)
        if p and p > 1 and (cin != 3 * p * p or cout != 3 * p * p):
            raise ValueError(f"in_channels/out_channels {cfg['in_channels']}/{cfg['out_channels']} with patch_size {p}; "
                             f"allowed: 3 or {3 * p * p} (RGB, patchified)")
        self.rgb_in, self.rgb_out = cin, cout
        temporal = list(cfg["temperal_downsample"])
        z = cfg["z_dim"]
        self.encoder = Encoder3d(cin, cfg["base_dim"], z * 2, cfg["dim_mult"], cfg["num_res_blocks"],
                                 cfg["attn_scales"], temporal, cfg["dropout"], bool(cfg["is_residual"]))
        self.quant_conv = CausalConv3d(z * 2, z * 2, 1)
        self.post_quant_conv = CausalConv3d(z, z, 1)
        self.decoder = Decoder3d(cfg["decoder_base_dim"] or cfg["base_dim"], z, cfg["dim_mult"], cfg["num_res_blocks"],
                                 temporal[::-1], cfg["dropout"], cout, bool(cfg["is_residual"]))
        self.temporal_factor = 2 ** sum(bool(t) for t in temporal)
        self.spatial_factor = 2 ** len(temporal) * (p or 1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """latents [B, z_dim, F, H, W] (not normalised) -> video [B, 3, 1 + 4(F - 1), 16H, 16W] in [-1, 1]."""
        out = self.decoder(self.post_quant_conv(z))
        return unpatchify(out, self.config["patch_size"]).clamp(-1.0, 1.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """video [B, 3, 1 + 4k, H, W] in [-1, 1] -> the posterior's mean [B, z_dim, 1 + k, H/16, W/16]."""
        h = self.quant_conv(self.encoder(patchify(x, self.config["patch_size"])))
        return h[:, : self.config["z_dim"]]


class Decode(nn.Module):
    """vae_decoder/model.onnx: latent_sample -> sample. Float16 edges cast to float32 inside (diffusers runs the Wan
    VAE in float32; its activations overflow float16)."""

    def __init__(self, vae: AutoencoderKLWan) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent_sample.float()).to(latent_sample.dtype)


class Encode(nn.Module):
    """vae_encoder/model.onnx: sample -> latent_sample (the posterior's mean, not normalised)."""

    def __init__(self, vae: AutoencoderKLWan) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(sample.float()).to(sample.dtype)


def random_weights(vae: nn.Module, seed: int) -> nn.Module:
    """For the tiny test VAEs (wan_tiny.py, wan_vae_reference.py): conv weights scaled by 1/sqrt(fan-in) and RMS gains
    near 1, so activations stay O(1) and the clamped output is mostly inside (-1, 1), every term contributing."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in vae.named_parameters():
            if name.endswith("gamma"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return vae
