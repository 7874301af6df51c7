"""Writes a tiny Wan2.2-style diffusers folder for test/tools/export-wan.test.ts.

The real weights cannot be downloaded where the tests run, so the test exports this instead: the same folder layout,
config keys, parameter names and safetensors files (written by safetensors_io.py) as Wan-AI/Wan2.2-TI2V-5B-Diffusers,
with a few thousand random parameters. --transformer-2 adds A14B's second transformer and boundary_ratio; --shards
writes the transformer as sharded files with an index.json (how the 5B checkpoint ships); --weights-dtype bfloat16
stores weights the way the published checkpoints do. vae/ is AutoencoderKLWan in Wan2.2's residual layout (wan_vae.py).

    /usr/bin/python3 training/wan_tiny.py OUT [--transformer-2] [--shards 2] [--weights-dtype bfloat16]
"""
from __future__ import annotations

import argparse
import json
import os

import torch

import safetensors_io
from wan_text_encoder import UMT5EncoderModel
from wan_transformer import WanTransformer3DModel
from wan_vae import AutoencoderKLWan, random_weights

LATENT = 6
TRANSFORMER = {"_class_name": "WanTransformer3DModel", "_diffusers_version": "0.35.0", "patch_size": [1, 2, 2],
               "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": LATENT, "out_channels": LATENT,
               "text_dim": 16, "freq_dim": 32, "ffn_dim": 40, "num_layers": 2, "cross_attn_norm": True,
               "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None, "added_kv_proj_dim": None,
               "rope_max_seq_len": 64, "pos_embed_seq_len": None}
TEXT = {"architectures": ["UMT5EncoderModel"], "model_type": "umt5", "vocab_size": 12, "d_model": 16, "d_kv": 4,
        "d_ff": 24, "num_layers": 2, "num_heads": 4, "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128, "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu",
        "dense_act_fn": "gelu_new", "is_gated_act": True, "tie_word_embeddings": False}
# Wan2.2-TI2V-5B's vae/config.json keys and layout (residual blocks, 2x2 patchify, 12 patchified RGB channels, decoder
# wider than encoder, 16x spatial, 4x temporal) at widths of 4 and 8 instead of 160 and 256
VAE = {"_class_name": "AutoencoderKLWan", "_diffusers_version": "0.35.0", "attn_scales": [], "base_dim": 4,
       "clip_output": False, "decoder_base_dim": 8, "dim_mult": [1, 2, 4, 4], "dropout": 0.0, "in_channels": 12,
       "is_residual": True, "num_res_blocks": 2, "out_channels": 12, "patch_size": 2, "scale_factor_spatial": 16,
       "scale_factor_temporal": 4, "temperal_downsample": [False, True, True], "z_dim": LATENT,
       "latents_mean": [0.1 * i for i in range(LATENT)], "latents_std": [1 + 0.5 * i for i in range(LATENT)]}
WORDS = ["a", "red", "ball", "bounces", "on", "the", "grass", "at", "sunset"]
PAD_ID = 2  # deliberately not 0, so the test sees the exporter look the pad token up


def randomise(module: torch.nn.Module, seed: int) -> dict:
    """Every parameter random (norm gains near 1) so that no term of the forward pass is silently zero."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, p in module.state_dict().items():
        if name.endswith("norm_q.weight") or name.endswith("norm_k.weight") or "layer_norm" in name or "norm2.weight" in name:
            state[name] = 1 + 0.1 * torch.randn(p.shape, generator=g)
        else:
            state[name] = 0.3 * torch.randn(p.shape, generator=g)
    return state


def write_component(folder: str, config: dict, state: dict, stem: str, shards: int, dtype: torch.dtype) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    state = {k: v.to(dtype) for k, v in state.items()}
    if shards > 1:
        safetensors_io.save_sharded(state, folder, stem, shards)
    else:
        safetensors_io.save_file(state, os.path.join(folder, f"{stem}.safetensors"), {"format": "pt"})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--transformer-2", action="store_true")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--weights-dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    args = ap.parse_args()
    dtype = getattr(torch, args.weights_dtype)
    out = args.out
    t_cfg = {k: v for k, v in TRANSFORMER.items() if not k.startswith("_")}
    write_component(os.path.join(out, "transformer"), TRANSFORMER, randomise(WanTransformer3DModel(**t_cfg), 1),
                    "diffusion_pytorch_model", args.shards, dtype)
    if args.transformer_2:
        write_component(os.path.join(out, "transformer_2"), TRANSFORMER, randomise(WanTransformer3DModel(**t_cfg), 2),
                        "diffusion_pytorch_model", args.shards, dtype)
    text_state = randomise(UMT5EncoderModel(**TEXT), 3)
    text_state["encoder.embed_tokens.weight"] = text_state["shared.weight"]  # transformers writes the tie twice
    write_component(os.path.join(out, "text_encoder"), TEXT, text_state, "model", 1, dtype)
    vocab = {"<unk>": 0, "</s>": 1, "<pad>": PAD_ID, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tokenizer = {"version": "1.0", "truncation": None, "padding": None,
                 "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                                   "normalized": False, "special": True} for t, i in list(vocab.items())[:3]],
                 "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
                 "decoder": None, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}}
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    with open(os.path.join(out, "tokenizer", "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    with open(os.path.join(out, "tokenizer", "tokenizer_config.json"), "w") as f:
        json.dump({"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 512}, f)
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "UniPCMultistepScheduler", "num_train_timesteps": 1000, "flow_shift": 5.0,
                   "use_flow_sigmas": True, "prediction_type": "flow_prediction", "solver_order": 2}, f)
    vae_cfg = {k: v for k, v in VAE.items() if not k.startswith("_")}
    write_component(os.path.join(out, "vae"), VAE, random_weights(AutoencoderKLWan(**vae_cfg), 4).state_dict(),
                    "diffusion_pytorch_model", 1, dtype)
    index = {"_class_name": "WanPipeline", "_diffusers_version": "0.35.0", "expand_timesteps": True,
             "boundary_ratio": 0.875 if args.transformer_2 else None,
             "scheduler": ["diffusers", "UniPCMultistepScheduler"], "text_encoder": ["transformers", "UMT5EncoderModel"],
             "tokenizer": ["transformers", "T5TokenizerFast"], "transformer": ["diffusers", "WanTransformer3DModel"],
             "transformer_2": ["diffusers", "WanTransformer3DModel"] if args.transformer_2 else [None, None],
             "vae": ["diffusers", "AutoencoderKLWan"]}
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
