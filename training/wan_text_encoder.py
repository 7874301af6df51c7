"""Wan's text encoder (transformers' UMT5EncoderModel) in plain PyTorch, for the ONNX export.

export_wan.py cannot import transformers where the tests run, so this module rebuilds the UMT5 encoder with the same
config keys (text_encoder/config.json), parameter names (shared.weight, encoder.block.N.layer.0.SelfAttention.q, ...)
and forward(input_ids [B, L], attention_mask [B, L]) -> last_hidden_state [B, L, d_model]. UMT5 differs from T5 in one
place that matters here: every layer has its own relative_attention_bias table (T5 only the first). The daemon zeroes
the rows past the prompt's length afterwards (what Wan's pipeline does), so the encoder itself is the plain model.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

DEFAULTS = {
    "vocab_size": 256384, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "layer_norm_epsilon": 1e-6,
    "feed_forward_proj": "gated-gelu",
}


class T5LayerNorm(nn.Module):
    """RMS norm without mean subtraction or bias, in float32 (T5's)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        # a cast only where one is needed: PyTorch 1.13's exporter drops a float32->float32 cast here but keeps its
        # output name, which onnxruntime then refuses
        return self.weight * (y if self.weight.dtype == torch.float32 else y.to(self.weight.dtype))


def relative_buckets(relative: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5's bidirectional bucketing of key - query distances: exact below num_buckets/4, logarithmic up to max_distance."""
    num_buckets //= 2
    buckets = (relative > 0).long() * num_buckets
    n = relative.abs()
    max_exact = num_buckets // 2
    # clamp before the log: distances under max_exact take the exact branch, and log(0) would be -inf in the graph
    large = max_exact + (torch.log(n.clamp(min=max_exact).float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(n < max_exact, n, large)


class UMT5Attention(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        inner = cfg["num_heads"] * cfg["d_kv"]
        self.heads, self.d_kv = cfg["num_heads"], cfg["d_kv"]
        self.num_buckets, self.max_distance = cfg["relative_attention_num_buckets"], cfg["relative_attention_max_distance"]
        self.q = nn.Linear(cfg["d_model"], inner, bias=False)
        self.k = nn.Linear(cfg["d_model"], inner, bias=False)
        self.v = nn.Linear(cfg["d_model"], inner, bias=False)
        self.o = nn.Linear(inner, cfg["d_model"], bias=False)
        self.relative_attention_bias = nn.Embedding(self.num_buckets, self.heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, length, _ = x.shape
        q, k, v = (p(x).view(b, length, self.heads, self.d_kv).transpose(1, 2) for p in (self.q, self.k, self.v))
        pos = torch.arange(length, device=x.device)
        bias = self.relative_attention_bias(relative_buckets(pos[None, :] - pos[:, None], self.num_buckets,
                                                             self.max_distance)).permute(2, 0, 1).unsqueeze(0)
        scores = q @ k.transpose(-1, -2) + bias + mask  # T5 does not scale by 1/sqrt(d_kv): its init absorbs it
        out = F.softmax(scores.float(), dim=-1).type_as(scores) @ v
        return self.o(out.transpose(1, 2).reshape(b, length, -1))


class SelfAttentionLayer(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.SelfAttention = UMT5Attention(cfg)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x + self.SelfAttention(self.layer_norm(x), mask)


class GatedGelu(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.wi_0 = nn.Linear(cfg["d_model"], cfg["d_ff"], bias=False)
        self.wi_1 = nn.Linear(cfg["d_model"], cfg["d_ff"], bias=False)
        self.wo = nn.Linear(cfg["d_ff"], cfg["d_model"], bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.wi_0(x), approximate="tanh") * self.wi_1(x)  # gelu_new is the tanh form
        # transformers keeps wo in float32 for half models (T5's activations overflow float16 there); the residual
        # stream then stays float32 too, by promotion, as it does in transformers
        return self.wo(h.to(self.wo.weight.dtype))


class FeedForwardLayer(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.DenseReluDense = GatedGelu(cfg)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.DenseReluDense(self.layer_norm(x))


class UMT5Block(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.layer = nn.ModuleList([SelfAttentionLayer(cfg), FeedForwardLayer(cfg)])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.layer[1](self.layer[0](x, mask))


class UMT5Stack(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.block = nn.ModuleList([UMT5Block(cfg) for _ in range(cfg["num_layers"])])
        self.final_layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


class UMT5EncoderModel(nn.Module):
    def __init__(self, **config) -> None:
        super().__init__()
        cfg = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}
        if cfg["feed_forward_proj"] != "gated-gelu":
            raise ValueError(f"feed_forward_proj is {cfg['feed_forward_proj']!r}; only 'gated-gelu' (UMT5's) is built")
        self.config = cfg
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.encoder = UMT5Stack(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.shared(input_ids)
        # additive mask, as transformers builds it: 0 where attended, the dtype's minimum where masked
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for block in self.encoder.block:
            x = block(x, mask)
        return self.encoder.final_layer_norm(x)


def strip_tied(state: dict) -> dict:
    """transformers writes the tied embedding twice (shared.weight and encoder.embed_tokens.weight); keep one."""
    state = dict(state)
    if "encoder.embed_tokens.weight" in state:
        tied = state.pop("encoder.embed_tokens.weight")
        state.setdefault("shared.weight", tied)
    return state
