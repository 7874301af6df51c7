"""Exports a diffusers Wan2.2 pipeline folder (TI2V-5B, or T2V-A14B with transformer_2) to a model package.

    /usr/bin/python3 training/export_wan.py SRC --out models/wan2.2-ti2v-5b [--dtype float16] [--name NAME]
        [--external-data auto|always|never] [--check-dir DIR]

SRC is a `Wan-AI/Wan2.2-TI2V-5B-Diffusers`-style folder: model_index.json, transformer/ (+ transformer_2/),
text_encoder/, tokenizer/, scheduler/, vae/. Optimum has no Wan exporter, and diffusers/transformers need PyTorch 2,
so the networks are rebuilt in this project's code (wan_transformer.py, wan_text_encoder.py, wan_vae.py) with the checkpoints'
parameter names, and their safetensors are read by safetensors_io.py. What it writes follows docs/model-package.md
and its Wan2.x settings (patch_size, timestep_shape, zero_text_padding, boundary_ratio); docs/real-models.md has the
commands, sizes and speeds. --check-dir writes fixed inputs and PyTorch's float32 outputs so that the ONNX files can
be compared (test/tools/export-wan.test.ts does, with onnxruntime-node).
The VAE (AutoencoderKLWan, wan_vae.py) becomes vae_decoder/ and vae_encoder/ (the posterior's mean, for
image-to-video), each one causal pass over the whole clip; its latent statistics and factors go into model_index.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

import onnx_dtypes
import safetensors_io
from wan_text_encoder import UMT5EncoderModel, strip_tied
from wan_transformer import WanTransformer3DModel
from wan_vae import AutoencoderKLWan, Decode, Encode

OPSET = 17


class ExportError(Exception):
    """A source folder this script cannot export: the message names the file and the field."""


def read_json(path: str) -> dict:
    if not os.path.isfile(path):
        raise ExportError(f"{path}: missing")
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        raise ExportError(f"{path}: not valid JSON ({e})") from None


def load_weights(module: torch.nn.Module, folder: str, state: dict) -> None:
    """strict loading with a message naming the folder and the first keys that differ."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ExportError(f"{folder}: weights do not match its config.json: missing {missing[:5]}"
                          f"{' …' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ExportError(f"{folder}: tensor {k} has shape {list(v.shape)}, config.json implies {list(own[k].shape)}")
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


def to_half_plan(module: torch.nn.Module, keep_fp32: list[str]) -> torch.nn.Module:
    """bfloat16 copy (traced, then rewritten to float16) with the modules diffusers/transformers keep in float32."""
    half = module.to(torch.bfloat16)
    for name, sub in half.named_modules():
        if any(name == k or name.endswith("." + k) for k in keep_fp32):
            sub.float()
    for name, p in half.named_parameters():
        if name.split(".")[-1] == "scale_shift_table":
            p.data = p.data.float()
    if hasattr(half, "rope"):
        half.rope.freqs_cos, half.rope.freqs_sin = half.rope.freqs_cos.float(), half.rope.freqs_sin.float()
    return half


def save_ref(folder: str, name: str, tensors: dict) -> None:
    """Raw little-endian buffers and a JSON index of dtypes and shapes, read by the test from Node."""
    os.makedirs(folder, exist_ok=True)
    index = {}
    for k, t in tensors.items():
        a = t.detach().float().numpy() if t.is_floating_point() else t.detach().numpy()
        a.tofile(os.path.join(folder, f"{name}.{k}.bin"))
        index[k] = {"dtype": str(a.dtype), "shape": list(a.shape)}
    with open(os.path.join(folder, f"{name}.json"), "w") as f:
        json.dump(index, f)


def export_onnx(module: torch.nn.Module, inputs: tuple, names: tuple, outputs: list, axes: dict, path: str,
                dtype: str, external: str) -> dict:
    """Traces into a scratch folder (PyTorch writes one file per tensor past 2 GB), then rewrites and saves once."""
    import onnx

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp:
        raw = os.path.join(tmp, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(module, inputs, raw, opset_version=OPSET, input_names=list(names),
                              output_names=outputs, dynamic_axes=axes, do_constant_folding=True)
        model = onnx.load(raw)
    changed = onnx_dtypes.bf16_to_fp16(model) if dtype == "float16" else 0
    external_written = onnx_dtypes.save(model, path, external)
    return {"file": path, "bf16_to_fp16_rewrites": changed, "external_data": external_written}


def trace_inputs(cfg: dict, text_dim: int, expand: bool, seed: int = 0) -> dict:
    """Small fixed inputs: the graph is dynamic in batch, frames, height, width and text length."""
    g = torch.Generator().manual_seed(seed)
    _, ph, pw = cfg["patch_size"]
    frames, height, width = 2, 2 * ph, 3 * pw
    hidden = torch.randn(2, cfg["in_channels"], frames, height, width, generator=g)
    tokens = frames * (height // ph) * (width // pw)
    if expand:
        timestep = torch.rand(2, tokens, generator=g) * 1000
        timestep[1, : tokens // frames] = 0  # an image-conditioned first frame: its tokens at t = 0
    else:
        timestep = torch.rand(2, generator=g) * 1000
    text = torch.randn(2, 7, text_dim, generator=g)
    return {"hidden_states": hidden, "timestep": timestep, "encoder_hidden_states": text}


def export_transformer(src: str, sub: str, out: str, args, expand: bool, ref: str | None) -> dict:
    folder = os.path.join(src, sub)
    cfg_raw = read_json(os.path.join(folder, "config.json"))
    try:
        model = WanTransformer3DModel(**cfg_raw)
    except ValueError as e:
        raise ExportError(f"{folder}/config.json: {e}") from None
    load_weights(model, folder, safetensors_io.load_folder(folder))
    model.eval()
    x = trace_inputs(model.config, model.config["text_dim"], expand)
    if ref:
        with torch.no_grad():
            save_ref(ref, sub, {**x, "sample": model(*x.values())})
    if args.dtype == "float16":
        model = to_half_plan(model, ["time_embedder", "norm1", "norm2", "norm3"])  # diffusers' _keep_in_fp32_modules
        inputs = (x["hidden_states"].bfloat16(), x["timestep"], x["encoder_hidden_states"].bfloat16())
    else:
        inputs = tuple(x.values())
    axes = {"hidden_states": {0: "batch", 2: "frames", 3: "height", 4: "width"},
            "timestep": {0: "batch", 1: "tokens"} if expand else {0: "batch"},
            "encoder_hidden_states": {0: "batch", 1: "sequence"},
            "sample": {0: "batch", 2: "frames", 3: "height", 4: "width"}}
    info = export_onnx(model, inputs, tuple(x), ["sample"], axes, os.path.join(out, sub, "model.onnx"),
                       args.dtype, args.external_data)
    return {**info, "config": model.config, "params": sum(p.numel() for p in model.parameters())}


def export_text_encoder(src: str, out: str, args, ref: str | None) -> dict:
    folder = os.path.join(src, "text_encoder")
    cfg_raw = read_json(os.path.join(folder, "config.json"))
    try:
        model = UMT5EncoderModel(**cfg_raw)
    except ValueError as e:
        raise ExportError(f"{folder}/config.json: {e}") from None
    load_weights(model, folder, strip_tied(safetensors_io.load_folder(folder)))
    model.eval()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, model.config["vocab_size"], (2, 9), generator=g)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 5:] = 0  # a shorter prompt, padded
    if ref:
        with torch.no_grad():
            save_ref(ref, "text_encoder", {"input_ids": ids, "attention_mask": mask, "last_hidden_state": model(ids, mask)})
    if args.dtype == "float16":
        model = to_half_plan(model, ["wo"])
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "last_hidden_state": {0: "batch", 1: "sequence"}}
    info = export_onnx(model, (ids, mask), ("input_ids", "attention_mask"), ["last_hidden_state"], axes,
                       os.path.join(out, "text_encoder", "model.onnx"), args.dtype, args.external_data)
    return {**info, "config": model.config, "params": sum(p.numel() for p in model.parameters())}


def export_vae(src: str, out: str, args, ref: str | None) -> dict:
    """vae_decoder/ and vae_encoder/ from vae/ (AutoencoderKLWan, wan_vae.py): whole-clip causal passes, float32 inside
    (diffusers runs the Wan VAE in float32) with float16 edges for --dtype float16."""
    folder = os.path.join(src, "vae")
    cfg_raw = read_json(os.path.join(folder, "config.json"))
    try:
        vae = AutoencoderKLWan(**cfg_raw)
    except ValueError as e:
        raise ExportError(f"{folder}/config.json: {e}") from None
    for key, have in (("scale_factor_spatial", vae.spatial_factor), ("scale_factor_temporal", vae.temporal_factor)):
        if key in cfg_raw and int(cfg_raw[key]) != have:
            raise ExportError(f"{folder}/config.json: {key} is {cfg_raw[key]}, but the network it describes "
                              f"(temperal_downsample, dim_mult, patch_size) scales by {have}")
    load_weights(vae, folder, safetensors_io.load_folder(folder))
    vae.eval()
    g = torch.Generator().manual_seed(2)
    z = torch.randn(2, vae.config["z_dim"], 3, 2, 3, generator=g)
    s = vae.spatial_factor
    video = torch.rand(2, 3, 1 + 2 * vae.temporal_factor, 2 * s, 3 * s, generator=g) * 2 - 1
    if ref:
        with torch.no_grad():
            save_ref(ref, "vae_decoder", {"latent_sample": z, "sample": vae.decode(z)})
            save_ref(ref, "vae_encoder", {"sample": video, "latent_sample": vae.encode(video)})
            # the first latent frame alone (one output frame) and one image (image-to-video's encoder call)
            save_ref(ref, "vae_decoder_1", {"latent_sample": z[:1, :, :1], "sample": vae.decode(z[:1, :, :1])})
            save_ref(ref, "vae_encoder_1", {"sample": video[:1, :, :1], "latent_sample": vae.encode(video[:1, :, :1])})
    half = (lambda t: t.half()) if args.dtype == "float16" else (lambda t: t)
    clip = {0: "batch", 2: "frames", 3: "height", 4: "width"}
    video_axes = {0: "batch", 2: "video_frames", 3: "video_height", 4: "video_width"}
    report = {}
    for name, module, x, io, axes in (
            ("vae_decoder", Decode(vae), z, ("latent_sample", "sample"), (clip, video_axes)),
            ("vae_encoder", Encode(vae), video, ("sample", "latent_sample"), (video_axes, clip))):
        info = export_onnx(module, (half(x),), io[:1], [io[1]], {io[0]: axes[0], io[1]: axes[1]},
                           os.path.join(out, name, "model.onnx"), "float32", args.external_data)
        report[name] = {**info, "params": sum(p.numel() for p in (vae.decoder if name == "vae_decoder" else vae.encoder).parameters())}
    return report


def copy_tokenizer(src: str, out: str) -> int:
    """tokenizer.json (what @huggingface/tokenizers loads) and tokenizer_config.json; returns the pad token's id."""
    folder = os.path.join(src, "tokenizer")
    tok = read_json(os.path.join(folder, "tokenizer.json"))
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    shutil.copy(os.path.join(folder, "tokenizer.json"), os.path.join(out, "tokenizer", "tokenizer.json"))
    pad_token = "<pad>"
    if os.path.isfile(os.path.join(folder, "tokenizer_config.json")):
        tcfg = read_json(os.path.join(folder, "tokenizer_config.json"))
        shutil.copy(os.path.join(folder, "tokenizer_config.json"), os.path.join(out, "tokenizer", "tokenizer_config.json"))
        pad = tcfg.get("pad_token", pad_token)
        pad_token = pad.get("content", pad_token) if isinstance(pad, dict) else pad
    for added in tok.get("added_tokens", []):
        if added.get("content") == pad_token:
            return int(added["id"])
    vocab = (tok.get("model") or {}).get("vocab")
    if isinstance(vocab, dict) and pad_token in vocab:
        return int(vocab[pad_token])
    if isinstance(vocab, list):  # Unigram (T5's): [[piece, score], ...]
        for i, entry in enumerate(vocab):
            if entry and entry[0] == pad_token:
                return i
    raise ExportError(f"{folder}/tokenizer.json: has no pad token {pad_token!r} (tokenizer_config.json pad_token)")


def vae_settings(src: str) -> dict:
    """Latent channels, factors and statistics from vae/config.json (AutoencoderKLWan); Wan2.1's VAE omits factors."""
    path = os.path.join(src, "vae", "config.json")
    cfg = read_json(path)
    z = cfg.get("z_dim")
    mean, std = cfg.get("latents_mean"), cfg.get("latents_std")
    if not isinstance(z, int) or not isinstance(mean, list) or not isinstance(std, list) or len(mean) != z or len(std) != z:
        raise ExportError(f"{path}: needs z_dim and latents_mean / latents_std lists of z_dim numbers "
                          f"(got z_dim={z!r}, {len(mean) if isinstance(mean, list) else mean!r} means, "
                          f"{len(std) if isinstance(std, list) else std!r} stds)")
    return {"latent_channels": z, "vae_scale_factor_spatial": int(cfg.get("scale_factor_spatial", 8)),
            "vae_scale_factor_temporal": int(cfg.get("scale_factor_temporal", 4)),
            "latents_mean": [float(v) for v in mean], "latents_std": [float(v) for v in std]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="diffusers Wan2.2 pipeline folder (model_index.json, transformer/, text_encoder/, ...)")
    ap.add_argument("--out", required=True, help="package folder to write")
    ap.add_argument("--name", help="package name (default: the output folder's name)")
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float16",
                    help="weights and float inputs/outputs (bf16 checkpoints become float16; default float16)")
    ap.add_argument("--external-data", choices=["auto", "always", "never"], default="auto",
                    help="weights in model.onnx_data: auto = only past protobuf's 2 GB")
    ap.add_argument("--check-dir", help="write fixed inputs and PyTorch float32 outputs here, for comparing the ONNX")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", "1")))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    src, out = os.path.abspath(args.src), os.path.abspath(args.out)
    try:
        index = read_json(os.path.join(src, "model_index.json"))
        expand = bool(index.get("expand_timesteps", False))
        boundary = index.get("boundary_ratio")
        has_t2 = os.path.isdir(os.path.join(src, "transformer_2")) and (index.get("transformer_2") or [None])[0] is not None
        if has_t2 and boundary is None:
            raise ExportError(f"{src}/model_index.json: transformer_2 is present but boundary_ratio is not set")
        vae = vae_settings(src)
        os.makedirs(out, exist_ok=True)
        # the VAE first: it is small, so a bad vae/ folder stops the export before hours of transformer tracing
        vae_report = export_vae(src, out, args, args.check_dir)
        report = {"transformer": export_transformer(src, "transformer", out, args, expand, args.check_dir)}
        if has_t2:
            report["transformer_2"] = export_transformer(src, "transformer_2", out, args, expand, args.check_dir)
        report["text_encoder"] = export_text_encoder(src, out, args, args.check_dir)
        report.update(vae_report)
        pad = copy_tokenizer(src, out)
        sched = read_json(os.path.join(src, "scheduler", "scheduler_config.json"))
        os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
        with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
            json.dump(sched, f, indent=1)
        tcfg = report["transformer"]["config"]
        if tcfg["in_channels"] != vae["latent_channels"]:
            raise ExportError(f"{src}/transformer/config.json: in_channels {tcfg['in_channels']} differs from "
                              f"vae/config.json z_dim {vae['latent_channels']} (image-conditioned channel concat is not exported)")
        write_model_index(out, args.name or os.path.basename(out), index, vae, tcfg, expand, boundary, pad, report)
    except (ExportError, safetensors_io.SafetensorsError) as e:
        print(f"export_wan: {e}", file=sys.stderr)
        return 2
    for k, v in report.items():
        print(f"{k}: {v['params'] / 1e6:.2f}M parameters -> {os.path.relpath(v['file'], out)}"
              f"{' (+ model.onnx_data)' if v['external_data'] else ''}, {args.dtype}")
    return 0


def write_model_index(out: str, name: str, index: dict, vae: dict, tcfg: dict, expand: bool, boundary, pad: int,
                      report: dict) -> None:
    grid = vae["vae_scale_factor_spatial"] * max(tcfg["patch_size"][1:])
    animate = {
        "description": f"{name}: Wan2.2-class text-to-video ({report['transformer']['params'] / 1e9:.2f}B-parameter "
                       f"transformer{' + transformer_2' if boundary is not None else ''}), exported by training/export_wan.py",
        **vae,
        "max_text_length": 512,  # Wan's pipelines pad/truncate UMT5 prompts to 512 tokens
        "pad_token_id": pad,
        "patch_size": list(tcfg["patch_size"]),
        "timestep_shape": "tokens" if expand else "batch",
        "zero_text_padding": True,
        "guidance_passes": 1,
        # diffusers' Wan VAE tiling (tile_sample_min 256 px, stride 192): tiles of 256 / s latent cells sharing 64 px,
        # so 720P decodes a tile's activations at a time instead of the whole frame's (docs/real-models.md)
        "decoder_tiling": {"tile": 256 // vae["vae_scale_factor_spatial"], "overlap": 64 // vae["vae_scale_factor_spatial"]},
        # Wan2.2 TI2V's published defaults: 1280x704, 121 frames at 24 fps, 50 steps, guidance 5
        "defaults": {"steps": 50, "guidance_scale": 5.0, "frames": 121, "width": 1280, "height": 704, "fps": 24,
                     "preview_every_n_steps": 5},
        "limits": {"min_steps": 1, "max_steps": 100, "min_guidance": 1, "max_guidance": 20, "min_frames": 1,
                   "max_frames": 121, "size_multiple": grid, "min_side": grid * 4, "max_side": 1280, "min_fps": 1,
                   "max_fps": 30, "max_prompt_chars": 2000},
        "example_prompts": ["a red ball bouncing on the grass at sunset"],
    }
    if boundary is not None:
        animate["boundary_ratio"] = float(boundary)
    doc = {"_class_name": "AnimateTextToVideoPipeline", "_source_class_name": index.get("_class_name"),
           "_diffusers_version": index.get("_diffusers_version"), "name": name,
           "text_encoder": ["animate", "UMT5EncoderModel"], "tokenizer": ["tokenizers", "T5TokenizerFast"],
           "transformer": ["animate", "WanTransformer3DModel"], "scheduler": index.get("scheduler"),
           "vae": ["animate", "AutoencoderKLWan"], "animate": animate,
           "export": {k: {"params": v["params"], "external_data": v["external_data"]} for k, v in report.items()}}
    if boundary is not None:
        doc["transformer_2"] = ["animate", "WanTransformer3DModel"]
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
