"""Text encoder and video denoiser (flow-matching velocity predictor).

The denoiser follows the shape of Wan-style video DiTs, scaled down for a CPU: latents [B, C, F, H, W] are cut into
1x2x2 patches; each block does spatial self-attention inside every latent frame, a light low-rank temporal attention across
frames at every spatial position, cross-attention to the text, and an MLP, all modulated by the timestep (adaLN, shared
projection plus a per-block table as in Wan). Linear layers carry the diffusers names (to_q, to_k, to_v, to_out, ff.net_0,
ff.net_2) so LoRA adapters can target them. A grown denoiser adds a DetailRefiner: convolutions at the full latent
resolution on top of the transformer's velocity, for details finer than a patch.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoid(x: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """x [...] -> [..., dim] sin/cos features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=x.device) / half)
    a = x.float().unsqueeze(-1) * freqs
    return torch.cat([torch.cos(a), torch.sin(a)], -1)


class Attention(nn.Module):
    """Multi-head attention with LoRA-targetable projections. `rank` < dim makes it low-rank (temporal module)."""

    def __init__(self, dim: int, heads: int, context_dim: int | None = None, inner: int | None = None) -> None:
        super().__init__()
        inner = inner or dim
        self.heads = heads
        self.to_q = nn.Linear(dim, inner)
        self.to_k = nn.Linear(context_dim or dim, inner)
        self.to_v = nn.Linear(context_dim or dim, inner)
        self.to_out = nn.Linear(inner, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if context is None else context
        b, n, _ = x.shape
        m = ctx.shape[1]
        h = self.heads
        q = self.to_q(x).reshape(b, n, h, -1).transpose(1, 2)
        k = self.to_k(ctx).reshape(b, m, h, -1).transpose(1, 2)
        v = self.to_v(ctx).reshape(b, m, h, -1).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
        if bias is not None:
            att = att + bias
        out = att.softmax(-1) @ v
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4) -> None:
        super().__init__()
        self.net_0 = nn.Linear(dim, dim * mult)
        self.net_2 = nn.Linear(dim * mult, dim)

    def forward(self, x):
        return self.net_2(F.gelu(self.net_0(x)))


# --------------------------------------------------------------------------------------------------------------- text

class TextBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ff = FeedForward(dim, 2)

    def forward(self, x, bias):
        x = x + self.attn(self.norm1(x), bias=bias)
        return x + self.ff(self.norm2(x))


class TextEncoder(nn.Module):
    """input_ids [B, L] (0 = [PAD]) -> last_hidden_state [B, L, D]. Padding is masked as a key, derived from the ids."""

    def __init__(self, vocab: int, dim: int = 128, heads: int = 4, depth: int = 2, max_len: int = 24) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        self.blocks = nn.ModuleList([TextBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        L = input_ids.shape[1]
        x = self.embed(input_ids) + self.pos[:L]
        pad = (input_ids == 0).float()
        bias = (pad * -1e4)[:, None, None, :]  # [B, 1, 1, L]: never -inf, so an all-padding prompt stays finite
        for blk in self.blocks:
            x = blk(x, bias)
        return self.norm(x)


# ------------------------------------------------------------------------------------------------------------ denoiser

class Block(nn.Module):
    def __init__(self, dim: int, heads: int, text_dim: int, temporal_rank: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads)  # spatial, per latent frame
        self.norm_t = nn.LayerNorm(dim)
        self.attn_t = Attention(dim, 2, inner=temporal_rank)  # temporal, low-rank projections
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, context_dim=text_dim)  # cross-attention to the text
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)
        self.modulation = nn.Parameter(torch.randn(1, 6, dim) / dim ** 0.5)
        nn.init.zeros_(self.attn_t.to_out.weight), nn.init.zeros_(self.attn_t.to_out.bias)

    def forward(self, x, temb6, text, f: int, tpos, adapter=None, gate=None):
        # x [B, F*N, D]; temb6 [B, T', 6, D] with T' = 1 (one timestep per item) or F*N (one per token)
        b, fn, d = x.shape
        n = fn // f
        sh1, sc1, g1, sh2, sc2, g2 = (self.modulation + temb6).unbind(2)  # [1, 6, D] broadcast: each [B, T', D]
        h = self.norm1(x) * (1 + sc1) + sh1
        h = self.attn1(h.reshape(b * f, n, d)).reshape(b, fn, d)
        x = x + g1 * h
        # temporal: every spatial position attends over the F latent frames
        ht = (self.norm_t(x) .reshape(b, f, n, d) + tpos).permute(0, 2, 1, 3).reshape(b * n, f, d)
        ht = self.attn_t(ht).reshape(b, n, f, d).permute(0, 2, 1, 3).reshape(b, fn, d)
        x = x + ht
        if adapter is not None:
            x = adapter(x, n, gate)
        x = x + self.attn2(self.norm2(x), context=text)
        h = self.norm3(x) * (1 + sc2) + sh2
        return x + g2 * self.ff(h)


class ImageAdapter(nn.Module):
    """Image-to-video: every token attends to the first latent frame's tokens (the clean, encoded picture).

    The base blocks reach frame 0 from another frame only through the low-rank temporal attention at the same spatial
    position, so a later frame cannot look up where the picture's object is. This cross-attention can. Its output is
    multiplied by a per-item gate, 1 for image-to-video items (their tokens' timesteps differ: frame 0 is at 0) and 0
    otherwise, so a text-to-video call computes exactly what the model without adapters does (x + 0 = x), whatever
    the adapters learn. Its last projection starts at zero: a grown model starts as the one it grew from.
    """

    def __init__(self, dim: int, heads: int, inner: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, inner=inner)
        nn.init.zeros_(self.attn.to_out.weight), nn.init.zeros_(self.attn.to_out.bias)

    def forward(self, x: torch.Tensor, n: int, gate: torch.Tensor) -> torch.Tensor:
        # x [B, F*N, D]; the first frame's tokens are x[:, :n]; gate [B, 1, 1]
        h = self.norm(x)
        return x + gate * self.attn(h, context=h[:, :n])


class RefinerBlock(nn.Module):
    """Residual pair of 3x3 convolutions, the first output modulated by the timestep (a conv net has no adaLN)."""

    def __init__(self, channels: int, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.time_modulation = nn.Linear(dim, 2 * channels)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, layout: tuple) -> torch.Tensor:
        return x + self.conv2(modulated_conv(self.conv1, self.time_modulation, x, temb, layout))


def pixel_map(m: torch.Tensor, layout: tuple) -> torch.Tensor:
    """Per-item or per-token values [B, T', K] -> a map over the refiner's frames [B*F, K, 1, 1] (T' = 1) or
    [B*F, K, H, W] (T' = F*h*w: each token's values over the p x p latent pixels it covers)."""
    b, f, h, w, p = layout
    k = m.shape[-1]
    if m.shape[1] == 1:
        return m[:, 0].repeat_interleave(f, 0)[:, :, None, None]
    m = m.reshape(b, f, h, 1, w, 1, k).expand(b, f, h, p, w, p, k).reshape(b * f, h * p, w * p, k)
    return m.permute(0, 3, 1, 2)


def modulated_conv(conv1: nn.Conv2d, time_modulation: nn.Linear, x: torch.Tensor, temb: torch.Tensor,
                   layout: tuple) -> torch.Tensor:
    """The refiner blocks' first half: a 3x3 conv whose output the timestep scales and shifts (per item or per latent
    pixel), then SiLU. temb [B, T', D]; `layout` (B, F, h, w, p) places it over the refiner's [B*F, C, H, W]."""
    sc, sh = pixel_map(time_modulation(F.silu(temb)), layout).chunk(2, 1)
    return F.silu(conv1(F.silu(x)) * (1 + sc) + sh)


class TemporalRefinerBlock(nn.Module):
    """A RefinerBlock whose second convolution is 3x3x3, over each latent frame and its neighbours in time. The
    refiner's other blocks see one latent frame (four video frames) alone, and the misses it leaves are fast motions
    (an orbit, a bounce, a spin) where the object's four places in a group ghost. It starts at zero (a pass-through)."""

    def __init__(self, channels: int, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.temporal_conv = nn.Conv3d(channels, channels, 3, padding=1)
        self.time_modulation = nn.Linear(dim, 2 * channels)
        nn.init.zeros_(self.temporal_conv.weight), nn.init.zeros_(self.temporal_conv.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, layout: tuple) -> torch.Tensor:
        # x [B*F, C, H, W], temb [B, T', D]
        h = modulated_conv(self.conv1, self.time_modulation, x, temb, layout)
        frames = layout[1]
        bf, c, hh, ww = h.shape
        h = h.reshape(bf // frames, frames, c, hh, ww).transpose(1, 2)
        h = self.temporal_conv(h).transpose(1, 2).reshape(bf, c, hh, ww)
        return x + h


class DetailRefiner(nn.Module):
    """Convolutions at the full latent resolution after the transformer, added to its velocity.

    The transformer sees 2x2-latent patches: one token covers 16x16 pixels, as large as a whole small object, and
    re-draws all of it from one 128-wide vector. The points of a star or a triangle and the hole of a ring are finer
    than that; these convolutions see every latent pixel and its neighbours. Each latent frame is refined on its own
    (time is the transformer's). The last convolution starts at zero, so a denoiser grown with it computes exactly
    what it did before.
    """

    def __init__(self, in_ch: int, dim: int, patch: int, channels: int, blocks: int, temporal_blocks: int = 0) -> None:
        super().__init__()
        self.patch, self.feature_ch = patch, channels // 2
        self.feature_projection = nn.Linear(dim, self.feature_ch * patch * patch)
        self.conv_in = nn.Conv2d(self.feature_ch + 2 * in_ch, channels, 3, padding=1)
        self.blocks = nn.ModuleList([RefinerBlock(channels, dim) for _ in range(blocks)])
        self.temporal_blocks = nn.ModuleList([TemporalRefinerBlock(channels, dim) for _ in range(temporal_blocks)])
        self.conv_out = nn.Conv2d(channels, in_ch, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight), nn.init.zeros_(self.conv_out.bias)

    def forward(self, tokens: torch.Tensor, xt: torch.Tensor, v: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        # tokens [B, F, h*w, D] (the transformer's last hidden states); xt, v [B, C, F, H, W]; temb [B, T', D]
        b, c, f, H, W = xt.shape
        p, k = self.patch, self.feature_ch
        feat = self.feature_projection(tokens).reshape(b, f, H // p, W // p, k, p, p)
        feat = feat.permute(0, 1, 4, 2, 5, 3, 6).reshape(b * f, k, H, W)
        frames = lambda t: t.permute(0, 2, 1, 3, 4).reshape(b * f, c, H, W)  # noqa: E731
        x = self.conv_in(torch.cat([feat, frames(xt), frames(v)], 1))
        layout = (b, f, H // p, W // p, p)
        for blk in self.blocks:
            x = blk(x, temb, layout)
        for tblk in self.temporal_blocks:
            x = tblk(x, temb, layout)
        out = self.conv_out(F.silu(x)).reshape(b, f, c, H, W).permute(0, 2, 1, 3, 4)
        return v + out


class VideoDiT(nn.Module):
    """hidden_states [B, C, F, H, W], timestep [B] or [B, T] (sigma*1000, per item or per patch token),
    encoder_hidden_states [B, L, Dt] -> velocity like input. `image_adapter` > 0 adds an ImageAdapter of that inner
    width to every block (image-to-video; 0: none)."""

    def __init__(self, in_ch: int = 16, dim: int = 128, depth: int = 5, heads: int = 4, text_dim: int = 128,
                 temporal_rank: int = 32, patch: int = 2, refiner_channels: int = 0, refiner_blocks: int = 2,
                 refiner_temporal_blocks: int = 0, image_adapter: int = 0) -> None:
        super().__init__()
        self.in_ch, self.dim, self.patch = in_ch, dim, patch
        self.patch_embedding = nn.Linear(in_ch * patch * patch, dim)
        self.time_embedding = nn.Sequential(nn.Linear(128, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        self.text_embedding = nn.Sequential(nn.Linear(text_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        # Which latent frame a token is in, added to every token: without it the spatial attention cannot tell the first
        # frame from the last, and a motion ("moves left") has to be routed through the weak temporal module alone.
        # Zero-initialised so that a checkpoint trained without it resumes unchanged.
        self.frame_embedding = nn.Linear(dim, dim)
        nn.init.zeros_(self.frame_embedding.weight), nn.init.zeros_(self.frame_embedding.bias)
        self.blocks = nn.ModuleList([Block(dim, heads, dim, temporal_rank) for _ in range(depth)])
        self.norm_out = nn.LayerNorm(dim)
        self.head_modulation = nn.Parameter(torch.randn(1, 2, dim) / dim ** 0.5)
        self.proj_out = nn.Linear(dim, in_ch * patch * patch)
        nn.init.zeros_(self.proj_out.weight), nn.init.zeros_(self.proj_out.bias)
        self.refiner = DetailRefiner(in_ch, dim, patch, refiner_channels, refiner_blocks,
                                     refiner_temporal_blocks) if refiner_channels else None
        self.adapters = nn.ModuleList([ImageAdapter(dim, heads, image_adapter) for _ in range(depth)]) \
            if image_adapter else None

    def pos_embed(self, f: int, h: int, w: int, device) -> tuple:
        """2D sin/cos over normalised coordinates (so other sizes map to the same range) + 1D over frame index."""
        q = self.dim // 4
        ys = (torch.arange(h, device=device).float() + 0.5) / h * 64.0
        xs = (torch.arange(w, device=device).float() + 0.5) / w * 64.0
        py = sinusoid(ys, 2 * q, 200.0)[:, None, :].expand(h, w, 2 * q)
        px = sinusoid(xs, 2 * q, 200.0)[None, :, :].expand(h, w, 2 * q)
        spatial = torch.cat([py, px], -1).reshape(1, 1, h * w, self.dim)
        tpos = sinusoid(torch.arange(f, device=device).float(), self.dim, 100.0).reshape(1, f, 1, self.dim)
        return spatial, tpos

    def forward(self, hidden_states: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        b, c, f, H, W = hidden_states.shape
        p = self.patch
        h, w = H // p, W // p
        x = hidden_states.reshape(b, c, f, h, p, w, p).permute(0, 2, 3, 5, 1, 4, 6).reshape(b, f, h * w, c * p * p)
        spatial, tpos = self.pos_embed(f, h, w, hidden_states.device)
        x = (self.patch_embedding(x) + spatial + self.frame_embedding(tpos)).reshape(b, f * h * w, self.dim)
        t = timestep if timestep.dim() == 2 else timestep[:, None]  # [B, T'], T' = 1 or f*h*w
        temb = self.time_embedding(sinusoid(t, 128))  # [B, T', D]
        temb6 = self.time_projection(temb).reshape(b, t.shape[1], 6, self.dim)
        text = self.text_embedding(encoder_hidden_states)
        gate = image_gate(t) if self.adapters is not None else None
        for i, blk in enumerate(self.blocks):
            blk_adapter = self.adapters[i] if self.adapters is not None else None
            x = blk(x, temb6, text, f, tpos * 0.1, blk_adapter, gate)
        sh, sc = (self.head_modulation + temb[:, :, None]).unbind(2)  # [1, 2, D] broadcast: each [B, T', D]
        x = self.norm_out(x) * (1 + sc) + sh
        v = self.proj_out(x).reshape(b, f, h, w, c, p, p).permute(0, 4, 1, 2, 5, 3, 6).reshape(b, c, f, H, W)
        if self.refiner is None:
            return v
        return self.refiner(x.reshape(b, f, h * w, self.dim), hidden_states, v, temb)


def image_gate(t: torch.Tensor) -> torch.Tensor:
    """[B, T'] timesteps -> [B, 1, 1]: 1 where an item's tokens do not all share one timestep (image-to-video: the clean
    first frame is at 0 while the rest is noised; the daemon's fillTokenTimesteps), else 0. Half a timestep unit of
    slack (sigma 5e-4): a text-to-video item's equal timesteps never open it."""
    return ((t.amax(1) - t.amin(1)) > 0.5).float()[:, None, None]


def token_timesteps(sigma: torch.Tensor, frames: int, tokens_per_frame: int, clean_first: torch.Tensor) -> torch.Tensor:
    """Per-token timesteps [B, F*N] (sigma * 1000 each), 0 for the first frame's N tokens of the items in `clean_first`
    (a [B] bool): what the daemon feeds a `timestep_shape: "tokens"` package (inference/pipeline/conditioning.ts)."""
    t = (sigma * 1000)[:, None].repeat(1, frames * tokens_per_frame)
    t[clean_first, :tokens_per_frame] = 0
    return t


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
