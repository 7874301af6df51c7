"""Wan2.x's video transformer (diffusers' WanTransformer3DModel) in plain PyTorch 1.13, for the ONNX export.

export_wan.py cannot import diffusers (not installable where the tests run, and its attention needs PyTorch 2), so this
module rebuilds the network with the same config keys (transformer/config.json), the same parameter names (the
checkpoint's safetensors load with strict=True) and the same forward signature:
forward(hidden_states [B, C, F, H, W], timestep [B] or [B, tokens] (Wan2.2 TI2V's expand_timesteps),
encoder_hidden_states [B, L, text_dim]) -> velocity [B, C, F, H, W]. It follows the checkpoint layout that the
published Wan2.2 weights use (a top-level scale_shift_table [1, 2, D] with a parameter-free norm_out), and writes
the few ops that trace badly (strided slice assignment in the rotary embedding) in an equivalent traceable form.
Only the text-to-video / TI2V variant is built: image_dim / added_kv_proj_dim (Wan2.1 I2V's CLIP branch) are refused.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Config keys the class takes and their diffusers defaults; others in config.json (_class_name, _diffusers_version) are
# ignored.
DEFAULTS = {
    "patch_size": [1, 2, 2], "num_attention_heads": 40, "attention_head_dim": 128, "in_channels": 16,
    "out_channels": 16, "text_dim": 4096, "freq_dim": 256, "ffn_dim": 13824, "num_layers": 40,
    "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None,
    "added_kv_proj_dim": None, "rope_max_seq_len": 1024, "pos_embed_seq_len": None,
}


class RMSNorm(nn.Module):
    """torch.nn.RMSNorm (PyTorch 2.4) for 1.13: x / sqrt(mean(x^2) + eps) * weight, computed in float32."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt((xf * xf).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class FP32LayerNorm(nn.LayerNorm):
    """diffusers' FP32LayerNorm: layer norm in float32 whatever the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # written out: PyTorch 1.13's opset-17 export of an affine-free layer_norm gives an invalid LayerNormalization.
        # The variance as E[x^2] - mu^2 (in float32): onnxruntime's LayerNormFusion would otherwise fuse the pattern
        # across the float16->float32 cast into a LayerNormalization of mixed types, which it then refuses to load
        xf = x.float()
        mu = xf.mean(-1, keepdim=True)
        var = (xf * xf).mean(-1, keepdim=True) - mu * mu
        y = (xf - mu) * torch.rsqrt(var.clamp(min=0) + self.eps)
        if self.weight is not None:
            y = y * self.weight.float() + self.bias.float()
        return y.to(x.dtype)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scaled dot-product attention on [B, S, heads, head_dim] (diffusers' dispatch layout) -> [B, S, heads, head_dim]."""
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    w = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if mask is not None:
        w = w + mask
    return (w.softmax(-1) @ v).transpose(1, 2)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotates interleaved pairs (x[2i], x[2i+1]) as diffusers' WanAttnProcessor does, without slice assignment."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    c, s = cos[..., 0::2], sin[..., 1::2]
    return torch.stack([x1 * c - x2 * s, x1 * s + x2 * c], dim=-1).flatten(-2).type_as(x)


class WanAttention(nn.Module):
    def __init__(self, dim: int, heads: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])
        self.norm_q = RMSNorm(dim, eps)
        self.norm_k = RMSNorm(dim, eps)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None, rotary: tuple | None) -> torch.Tensor:
        context = x if context is None else context
        # reshape, not unflatten: PyTorch 1.13 cannot export aten::unflatten
        q = self.norm_q(self.to_q(x)).reshape(x.shape[0], x.shape[1], self.heads, -1)
        k = self.norm_k(self.to_k(context)).reshape(context.shape[0], context.shape[1], self.heads, -1)
        v = self.to_v(context).reshape(context.shape[0], context.shape[1], self.heads, -1)
        if rotary is not None:
            q, k = apply_rotary(q, *rotary), apply_rotary(k, *rotary)
        out = attention(q, k, v).flatten(2, 3).type_as(q)
        return self.to_out[0](out)


def rope_1d(dim: int, length: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """diffusers' get_1d_rotary_pos_embed(use_real=True, repeat_interleave_real=True), in float64 then float32."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64)[: dim // 2] / dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float64), freqs)
    return angles.cos().repeat_interleave(2, dim=1), angles.sin().repeat_interleave(2, dim=1)


class WanRotaryPosEmbed(nn.Module):
    def __init__(self, head_dim: int, patch_size: list[int], max_seq_len: int, theta: float = 10000.0) -> None:
        super().__init__()
        self.head_dim, self.patch_size = head_dim, patch_size
        h_dim = w_dim = 2 * (head_dim // 6)
        t_dim = head_dim - h_dim - w_dim
        parts = [rope_1d(d, max_seq_len, theta) for d in (t_dim, h_dim, w_dim)]
        # float32 buffers: ONNX graphs stay in one float type (diffusers keeps float64 and casts back after rotating)
        self.register_buffer("freqs_cos", torch.cat([p[0] for p in parts], 1).float(), persistent=False)
        self.register_buffer("freqs_sin", torch.cat([p[1] for p in parts], 1).float(), persistent=False)

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, _, frames, height, width = hidden_states.shape
        p_t, p_h, p_w = self.patch_size
        ppf, pph, ppw = frames // p_t, height // p_h, width // p_w
        d = self.head_dim
        split = [d - 2 * (d // 3), d // 3, d // 3]

        def grid(table: torch.Tensor) -> torch.Tensor:
            f, h, w = table.split(split, dim=1)
            f = f[:ppf].view(ppf, 1, 1, -1).expand(ppf, pph, ppw, -1)
            h = h[:pph].view(1, pph, 1, -1).expand(ppf, pph, ppw, -1)
            w = w[:ppw].view(1, 1, ppw, -1).expand(ppf, pph, ppw, -1)
            return torch.cat([f, h, w], dim=-1).reshape(1, ppf * pph * ppw, 1, -1)

        return grid(self.freqs_cos), grid(self.freqs_sin)


class Timesteps(nn.Module):
    """Sinusoidal embedding with flip_sin_to_cos=True, downscale_freq_shift=0 (diffusers' Timesteps)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.channels // 2
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half
        emb = t[:, None].float() * torch.exp(exponent)[None, :]
        return torch.cat([torch.cos(emb), torch.sin(emb)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim: int, dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(x)))


class TextProjection(nn.Module):
    """diffusers' PixArtAlphaTextProjection with act_fn="gelu_tanh"."""

    def __init__(self, in_dim: int, dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.gelu(self.linear_1(x), approximate="tanh"))


class WanTimeTextEmbedding(nn.Module):
    def __init__(self, dim: int, freq_dim: int, text_dim: int) -> None:
        super().__init__()
        self.timesteps_proj = Timesteps(freq_dim)
        self.time_embedder = TimestepEmbedding(freq_dim, dim)
        self.act_fn = nn.SiLU()
        self.time_proj = nn.Linear(dim, dim * 6)
        self.text_embedder = TextProjection(text_dim, dim)

    def forward(self, timestep: torch.Tensor, text: torch.Tensor, seq_len: int | None):
        t = self.timesteps_proj(timestep)
        if seq_len is not None:
            t = t.reshape(-1, seq_len, t.shape[-1])
        temb = self.time_embedder(t.to(self.time_embedder.linear_1.weight.dtype)).type_as(text)
        return temb, self.time_proj(self.act_fn(temb)), self.text_embedder(text)


class GELUProj(nn.Module):
    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    """diffusers' FeedForward(activation_fn="gelu-approximate"): names ffn.net.0.proj, ffn.net.2."""

    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.net = nn.ModuleList([GELUProj(dim, inner), nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class WanTransformerBlock(nn.Module):
    def __init__(self, dim: int, ffn_dim: int, heads: int, cross_attn_norm: bool, eps: float) -> None:
        super().__init__()
        self.norm1 = FP32LayerNorm(dim, eps, elementwise_affine=False)
        self.attn1 = WanAttention(dim, heads, eps)
        self.attn2 = WanAttention(dim, heads, eps)
        self.norm2 = FP32LayerNorm(dim, eps, elementwise_affine=True) if cross_attn_norm else nn.Identity()
        self.ffn = FeedForward(dim, ffn_dim)
        self.norm3 = FP32LayerNorm(dim, eps, elementwise_affine=False)
        self.scale_shift_table = nn.Parameter(torch.randn(1, 6, dim) / dim**0.5)

    def forward(self, x: torch.Tensor, context: torch.Tensor, temb: torch.Tensor, rotary: tuple) -> torch.Tensor:
        if temb.ndim == 4:  # [B, tokens, 6, D]: per-token timesteps (Wan2.2 TI2V)
            mods = [m.squeeze(2) for m in (self.scale_shift_table.unsqueeze(0) + temb.float()).chunk(6, dim=2)]
        else:  # [B, 6, D]
            mods = list((self.scale_shift_table + temb.float()).chunk(6, dim=1))
        shift, scale, gate, c_shift, c_scale, c_gate = mods
        h = (self.norm1(x.float()) * (1 + scale) + shift).type_as(x)
        x = (x.float() + self.attn1(h, None, rotary) * gate).type_as(x)
        h = self.norm2(x.float()).type_as(x)
        x = x + self.attn2(h, context, None)
        h = (self.norm3(x.float()) * (1 + c_scale) + c_shift).type_as(x)
        return (x.float() + self.ffn(h).float() * c_gate).type_as(x)


class PatchEmbed(nn.Conv3d):
    """Conv3d with kernel = stride = patch, computed as a matmul over non-overlapping patches: the same weights and
    result, but PyTorch 1.13 has no float16 Conv3d on the CPU, and the export traces fp16 models there."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = x.shape
        pt, ph, pw = self.kernel_size
        x = x.reshape(b, c, f // pt, pt, h // ph, ph, w // pw, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        y = F.linear(x.reshape(b, (f // pt) * (h // ph) * (w // pw), c * pt * ph * pw), self.weight.flatten(1), self.bias)
        return y.transpose(1, 2).reshape(b, -1, f // pt, h // ph, w // pw)


class WanTransformer3DModel(nn.Module):
    def __init__(self, **config) -> None:
        super().__init__()
        unknown = sorted(set(config) - set(DEFAULTS))
        cfg = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}
        if cfg["image_dim"] is not None or cfg["added_kv_proj_dim"] is not None:
            raise ValueError("image_dim / added_kv_proj_dim are set (a Wan2.1 image-to-video model with a CLIP image "
                             "branch); only text-to-video and TI2V transformers are exported")
        self.config, self.ignored_config = cfg, unknown
        dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
        patch = list(cfg["patch_size"])
        out_channels = cfg["out_channels"] or cfg["in_channels"]
        self.patch_size, self.out_channels = patch, out_channels
        self.rope = WanRotaryPosEmbed(cfg["attention_head_dim"], patch, cfg["rope_max_seq_len"])
        self.patch_embedding = PatchEmbed(cfg["in_channels"], dim, kernel_size=patch, stride=patch)
        self.condition_embedder = WanTimeTextEmbedding(dim, cfg["freq_dim"], cfg["text_dim"])
        self.blocks = nn.ModuleList([
            WanTransformerBlock(dim, cfg["ffn_dim"], cfg["num_attention_heads"], cfg["cross_attn_norm"], cfg["eps"])
            for _ in range(cfg["num_layers"])])
        self.norm_out = FP32LayerNorm(dim, cfg["eps"], elementwise_affine=False)
        self.proj_out = nn.Linear(dim, out_channels * math.prod(patch))
        self.scale_shift_table = nn.Parameter(torch.randn(1, 2, dim) / dim**0.5)

    def forward(self, hidden_states: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        b, _, frames, height, width = hidden_states.shape
        p_t, p_h, p_w = self.patch_size
        ppf, pph, ppw = frames // p_t, height // p_h, width // p_w
        rotary = self.rope(hidden_states)
        x = self.patch_embedding(hidden_states).flatten(2).transpose(1, 2)
        seq_len = None
        if timestep.ndim == 2:
            seq_len = timestep.shape[1]
            timestep = timestep.flatten()
        temb, proj, context = self.condition_embedder(timestep, encoder_hidden_states, seq_len)
        if seq_len is not None:
            proj = proj.reshape(proj.shape[0], proj.shape[1], 6, -1)
        else:
            proj = proj.reshape(proj.shape[0], 6, -1)
        for block in self.blocks:
            x = block(x, context, proj, rotary)
        if temb.ndim == 3:
            shift, scale = (self.scale_shift_table.unsqueeze(0) + temb.unsqueeze(2)).chunk(2, dim=2)
            shift, scale = shift.squeeze(2), scale.squeeze(2)
        else:
            shift, scale = (self.scale_shift_table + temb.unsqueeze(1)).chunk(2, dim=1)
        x = (self.norm_out(x.float()) * (1 + scale) + shift).type_as(x)
        x = self.proj_out(x)
        x = x.reshape(b, ppf, pph, ppw, p_t, p_h, p_w, -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
        return x.flatten(6, 7).flatten(4, 5).flatten(2, 3)
