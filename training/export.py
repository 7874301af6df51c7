"""Stage 4: export the trained text encoder, denoiser and VAE decoder to models/tiny-world (docs/model-package.md).

    /usr/bin/python3 training/export.py [--out models/tiny-world] [--shift 3.0] [--guidance 4.5]

Also writes reference inputs/outputs (PyTorch) to training/runs/export-check/ so that
`node training/verify_onnx.mjs` can compare onnxruntime-node's outputs against them.

The transformer's `timestep` is [B] or, for a checkpoint trained per token (its "timestep_shape": "tokens"), [B, T]
(one per patch token, `timestep_shape: "tokens"` in model_index.json); a checkpoint without the key is "batch".
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

import torch

import world as W
from checkpoints import DIT_CKPT, VAE_STATS, load_trained
from common import HERE, RUNS, load_ckpt
from models import TextEncoder, VideoDiT, count, token_timesteps
from tokenizer import MAX_LEN, PAD, WordTokenizer
from vae_model import S_FACTOR, T_FACTOR, DecoderExport, EncoderExport

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


# Each component's ONNX signature (docs/model-package.md). import_package.py exports probes through the same calls, so
# the graphs it reads weights back from are built exactly as the package's were.
SIGNATURES = {
    "text_encoder": (["input_ids"], ["last_hidden_state"],
                     {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}}),
    "transformer": (["hidden_states", "timestep", "encoder_hidden_states"], ["sample"],
                    {"hidden_states": {0: "batch", 2: "frames", 3: "height", 4: "width"}, "timestep": {0: "batch"},
                     "encoder_hidden_states": {0: "batch", 1: "sequence"},
                     "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}}),
    # the same with one timestep per patch token ([B, T]: `timestep_shape: "tokens"`)
    "transformer_tokens": (["hidden_states", "timestep", "encoder_hidden_states"], ["sample"],
                           {"hidden_states": {0: "batch", 2: "frames", 3: "height", 4: "width"},
                            "timestep": {0: "batch", 1: "tokens"}, "encoder_hidden_states": {0: "batch", 1: "sequence"},
                            "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}}),
    "vae_decoder": (["latent_sample"], ["sample"],
                    {"latent_sample": {0: "batch", 2: "frames", 3: "height", 4: "width"},
                     "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}}),
    # Not read by the daemon: it makes the package a complete starting point for training (import_package.py).
    "vae_encoder": (["sample"], ["latent_sample"],
                    {"sample": {0: "batch", 2: "frames", 3: "height", 4: "width"},
                     "latent_sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}}),
}


def export_component(name: str, module: torch.nn.Module, inputs: tuple, out: str, ref: str | None = None,
                     signature: str | None = None) -> torch.Tensor:
    """Writes <out>/<name>/model.onnx and, with `ref`, PyTorch's reference inputs and output for verify_onnx.mjs.
    `signature`: the SIGNATURES entry when it is not `name`'s own (the per-token transformer)."""
    input_names, output_names, axes = SIGNATURES[signature or name]
    os.makedirs(os.path.join(out, name), exist_ok=True)
    with torch.no_grad():
        result = module(*inputs)
    torch.onnx.export(module, inputs, os.path.join(out, name, "model.onnx"), opset_version=OPSET,
                      input_names=input_names, output_names=output_names, dynamic_axes=axes)
    if ref:
        save_ref(ref, name, {**dict(zip(input_names, inputs)), output_names[0]: result})
    return result


def example_inputs(tok: WordTokenizer, in_ch: int, timestep_shape: str = "batch", patch: int = 2) -> dict:
    """Fixed inputs for each component's trace and reference (seeded). Per-token timesteps: an image-to-video item
    (frame 0's tokens at 0) and a text-to-video one, so the reference checks both."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, in_ch, 5, 16, 16, generator=gen)
    timestep = torch.tensor([700.0, 700.0])
    if timestep_shape == "tokens":
        timestep = token_timesteps(timestep / 1000, 5, (16 // patch) ** 2, torch.tensor([True, False]))
    return {"input_ids": torch.from_numpy(tok.batch(["a red ball bouncing on the grass", ""])), "hidden_states": x,
            "timestep": timestep, "video": torch.rand(1, 3, 17, 128, 128, generator=gen) * 2 - 1}


def transformer_signature(timestep_shape: str) -> str:
    """The SIGNATURES entry of a transformer with this timestep shape ("batch" | "tokens")."""
    if timestep_shape not in ("batch", "tokens"):
        raise SystemExit(f'timestep_shape {timestep_shape!r}: must be "batch" or "tokens"')
    return "transformer_tokens" if timestep_shape == "tokens" else "transformer"


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
    ae = load_trained(need_encoder=False)
    ref = os.path.join(RUNS, "export-check")
    for sub in ("tokenizer", "scheduler", "preview"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    tok.save(os.path.join(out, "tokenizer"))
    timestep_shape = ck.get("timestep_shape", "batch")
    ex = example_inputs(tok, len(ck["mean"]), timestep_shape, ck["arch"].get("patch", 2))
    hid = export_component("text_encoder", text, (ex["input_ids"],), out, ref)
    export_component("transformer", dit, (ex["hidden_states"], ex["timestep"], hid), out, ref,
                     transformer_signature(timestep_shape))
    z = ex["hidden_states"][:1] * ck["std"][None, :, None, None, None] + ck["mean"][None, :, None, None, None]
    export_component("vae_decoder", DecoderExport(ae).eval(), (z,), out, ref)
    encoder = os.path.join(out, "vae_encoder")
    if ae.encoder_trained:
        export_component("vae_encoder", EncoderExport(ae).eval(), (ex["video"],), out, ref)
    elif os.path.isdir(encoder):  # a stale encoder would not match this decoder's latents
        shutil.rmtree(encoder)

    stats = json.load(open(VAE_STATS))
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
            "vae_scale_factor_spatial": S_FACTOR,
            "vae_scale_factor_temporal": T_FACTOR,
            "latents_mean": [round(float(m), 6) for m in ck["mean"]],
            "latents_std": [round(float(s), 6) for s in ck["std"]],
            "max_text_length": MAX_LEN,
            "pad_token_id": PAD,
            # per-token timesteps: T = F*(H/p)*(W/p), so the daemon must know the patch (docs/model-package.md)
            **({"timestep_shape": "tokens", "patch_size": [1, ck["arch"]["patch"], ck["arch"]["patch"]]}
               if timestep_shape == "tokens" else {}),
            "defaults": {"steps": 20, "guidance_scale": args.guidance, "frames": 17, "width": 128, "height": 128, "fps": 8,
                         "preview_every_n_steps": 2},
            "limits": {"min_steps": 1, "max_steps": 100, "min_guidance": 1, "max_guidance": 20, "min_frames": 1, "max_frames": 33,
                       "size_multiple": 16, "min_side": 64, "max_side": 256, "min_fps": 1, "max_fps": 30, "max_prompt_chars": 500,
                       "aspects": ["1:1"]},
            "example_prompts": EXAMPLES,
            "vocabulary": {"shapes": W.SHAPES, "colours": W.COLOURS, "motions": W.MOTIONS, "scenes": W.SCENES, "words": vocab_words},
        },
        # What import_package.py needs to rebuild the PyTorch modules (the ONNX files hold only their weights).
        "training": {"denoiser_step": int(ck["step"]), "text_encoder_params": count(text), "transformer_params": count(dit),
                     "vae_decoder_params": count(ae.dec), "text_arch": ck["text_arch"], "transformer_arch": ck["arch"],
                     "vae_arch": ae.arch(),
                     **({"vae_encoder_params": count(ae.enc)} if ae.encoder_trained else {})},
    }
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out) for fn in fns)
    print(f"exported to {out}: {total / 1e6:.2f} MB; text {count(text):,} / transformer {count(dit):,} / decoder {count(ae.dec):,} params")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "tiny-world"))
    ap.add_argument("--ckpt", default=DIT_CKPT, help="denoiser checkpoint to export (its EMA weights)")
    ap.add_argument("--shift", type=float, default=3.0)
    ap.add_argument("--guidance", type=float, default=4.5)
    export(ap.parse_args())
