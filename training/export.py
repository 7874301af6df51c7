"""Stage 4: export the trained text encoder, denoiser and VAE decoder to models/tiny-world (docs/model-package.md).

    /usr/bin/python3 training/export.py [--out models/tiny-world] [--shift 3.0] [--guidance 4.5]

Also writes reference inputs/outputs (PyTorch) to training/runs/export-check/ so that
`node training/verify_onnx.mjs` can compare onnxruntime-node's outputs against them.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

import vae as V
import world as W
from common import HERE, RUNS, load_ckpt
from models import TextEncoder, VideoDiT, count
from tokenizer import MAX_LEN, PAD, WordTokenizer
from train_dit import CKPT

OPSET = 17
EXAMPLES = [
    "a red ball bouncing on the grass",
    "a yellow star spinning at night",
    "a blue box slides left at sunset",
    "a pink heart grows in the sky",
    "a white triangle falls at night",
    "an orange ring orbits on the grass",
]


def save_ref(folder: str, name: str, tensors: dict) -> None:
    """Raw little-endian buffers + a JSON index, easy to read from Node."""
    os.makedirs(folder, exist_ok=True)
    index = {}
    for k, t in tensors.items():
        a = t.detach().numpy()
        a.tofile(os.path.join(folder, f"{name}.{k}.bin"))
        index[k] = {"dtype": str(a.dtype), "shape": list(a.shape)}
    with open(os.path.join(folder, f"{name}.json"), "w") as f:
        json.dump(index, f)


def export(args) -> None:
    torch.manual_seed(0)
    out = os.path.abspath(args.out)
    ck = load_ckpt(args.ckpt)
    if ck is None:
        raise SystemExit(f"export: no denoiser checkpoint at {args.ckpt} (train one with train_dit.py train, or pass --ckpt)")
    tok = WordTokenizer(ck["vocab"])
    text = TextEncoder(len(tok.vocab), max_len=MAX_LEN, **ck["text_arch"]).eval()
    dit = VideoDiT(in_ch=len(ck["mean"]), text_dim=ck["text_arch"]["dim"], **ck["arch"]).eval()
    text.load_state_dict(ck["ema_text"]), dit.load_state_dict(ck["ema_dit"])
    ae = V.load_trained()
    dec = V.DecoderExport(ae).eval()
    ref = os.path.join(RUNS, "export-check")
    for sub in ("tokenizer", "text_encoder", "transformer", "vae_decoder", "scheduler", "preview"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    tok.save(os.path.join(out, "tokenizer"))

    ids = torch.from_numpy(tok.batch(["a red ball bouncing on the grass", ""]))
    with torch.no_grad():
        hid = text(ids)
    torch.onnx.export(text, (ids,), os.path.join(out, "text_encoder", "model.onnx"), opset_version=OPSET,
                      input_names=["input_ids"], output_names=["last_hidden_state"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}})
    save_ref(ref, "text_encoder", {"input_ids": ids, "last_hidden_state": hid})

    x = torch.randn(2, len(ck["mean"]), 5, 16, 16)
    t = torch.tensor([700.0, 700.0])
    with torch.no_grad():
        v = dit(x, t, hid)
    torch.onnx.export(dit, (x, t, hid), os.path.join(out, "transformer", "model.onnx"), opset_version=OPSET,
                      input_names=["hidden_states", "timestep", "encoder_hidden_states"], output_names=["sample"],
                      dynamic_axes={"hidden_states": {0: "batch", 2: "frames", 3: "height", 4: "width"}, "timestep": {0: "batch"},
                                    "encoder_hidden_states": {0: "batch", 1: "sequence"},
                                    "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}})
    save_ref(ref, "transformer", {"hidden_states": x, "timestep": t, "encoder_hidden_states": hid, "sample": v})

    z = x[:1] * ck["std"][None, :, None, None, None] + ck["mean"][None, :, None, None, None]
    with torch.no_grad():
        img = dec(z)
    torch.onnx.export(dec, (z,), os.path.join(out, "vae_decoder", "model.onnx"), opset_version=OPSET,
                      input_names=["latent_sample"], output_names=["sample"],
                      dynamic_axes={"latent_sample": {0: "batch", 2: "frames", 3: "height", 4: "width"},
                                    "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}})
    save_ref(ref, "vae_decoder", {"latent_sample": z, "sample": img})

    stats = json.load(open(os.path.join(RUNS, "vae", "stats.json")))
    with open(os.path.join(out, "preview", "latent_rgb.json"), "w") as f:
        json.dump({"factors": [[round(c, 6) for c in row] for row in stats["latent_rgb"]["factors"]],
                   "bias": [round(c, 6) for c in stats["latent_rgb"]["bias"]]}, f, indent=1)
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": args.shift}, f, indent=1)
    vocab_words = [w for w in tok.vocab if w.isalpha()]
    index = {
        "_class_name": "AnimateTextToVideoPipeline",
        "_diffusers_version": "0.33.0",
        "name": "tiny-world",
        "text_encoder": ["animate", "TinyTextEncoder"],
        "tokenizer": ["tokenizers", "WordLevel"],
        "transformer": ["animate", "TinyVideoDiT"],
        "vae": ["animate", "TinyCausalVideoAE"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "animate": {
            "description": f"tiny-world: a {(count(text) + count(dit) + count(ae.dec)) / 1e6:.1f}M-parameter latent text-to-video model trained on a procedural world of shapes, colours, motions and scenes (128x128, 17 frames)",
            "latent_channels": len(ck["mean"]),
            "vae_scale_factor_spatial": V.S_FACTOR,
            "vae_scale_factor_temporal": V.T_FACTOR,
            "latents_mean": [round(float(m), 6) for m in ck["mean"]],
            "latents_std": [round(float(s), 6) for s in ck["std"]],
            "max_text_length": MAX_LEN,
            "pad_token_id": PAD,
            "defaults": {"steps": 20, "guidance_scale": args.guidance, "frames": 17, "width": 128, "height": 128, "fps": 8,
                         "preview_every_n_steps": 2},
            "limits": {"min_steps": 1, "max_steps": 100, "min_guidance": 1, "max_guidance": 20, "min_frames": 1, "max_frames": 33,
                       "size_multiple": 16, "min_side": 64, "max_side": 256, "min_fps": 1, "max_fps": 30, "max_prompt_chars": 500,
                       "aspects": ["1:1"]},
            "example_prompts": EXAMPLES,
            "vocabulary": {"shapes": W.SHAPES, "colours": W.COLOURS, "motions": W.MOTIONS, "scenes": W.SCENES, "words": vocab_words},
        },
        "training": {"denoiser_step": int(ck["step"]), "text_encoder_params": count(text), "transformer_params": count(dit),
                     "vae_decoder_params": count(ae.dec)},
    }
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out) for fn in fns)
    print(f"exported to {out}: {total / 1e6:.2f} MB; text {count(text):,} / transformer {count(dit):,} / decoder {count(ae.dec):,} params")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "tiny-world"))
    ap.add_argument("--ckpt", default=CKPT, help="denoiser checkpoint to export (its EMA weights)")
    ap.add_argument("--shift", type=float, default=3.0)
    ap.add_argument("--guidance", type=float, default=4.5)
    export(ap.parse_args())
