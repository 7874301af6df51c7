"""Rebuilds resumable PyTorch checkpoints from a model package: the committed package is the checkpoint training goes on
from. Runs folders are local and vanish with a machine; the package is in git.

    /usr/bin/python3 training/import_package.py [--package models/tiny-world] [--runs training/runs-import]

Writes <runs>/dit/ckpt.pt (text encoder + denoiser, as train_dit.py saves them, with a fresh optimiser),
<runs>/vae_package/ckpt.pt (the autoencoder: the decoder, and the encoder when the package has vae_encoder/) and
<runs>/vae/stats.json (latents_mean/std and the preview factors). A package without vae_encoder/ then needs
`vae.py refit-encoder` before new latents can be encoded; export.py, sample.py and the decoder stages work at once.

How the weights are read back: torch.onnx.export names most initializers after their parameters, but folds each
Linear's transposed weight into an anonymous `onnx::MatMul_N`. So each module is first exported as a probe, with every
parameter set to its own random values, through the same export call (export.py's SIGNATURES); the probe's initializers,
in order, are matched to parameters by value (as they are, or transposed). The package's graph must have the same
initializer names in the same order, which also checks that the architecture is the one read from model_index.json.
Then the imported modules are exported again and compared with the package, initializer by initializer.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch

from checkpoints import PACKAGE_CKPT
from common import HERE, RUNS, save_ckpt
from export import example_inputs, export_component, transformer_signature
from models import TextEncoder, VideoDiT
from tokenizer import MAX_LEN, WordTokenizer
from train_dit import ARCH, TEXT_ARCH
from vae_model import LATENT_C, DecoderExport, EncoderExport, VideoAE


def initializers(path: str) -> list:
    """(name, array) for each initializer of an ONNX file, in graph order."""
    return [(t.name, onnx.numpy_helper.to_array(t)) for t in onnx.load(path).graph.initializer]


def probe_layout(name: str, module: torch.nn.Module, inputs: tuple, holds: str, signature: str | None = None) -> list:
    """For each initializer of `module`'s export: (its name, the parameter it holds or None, 'same' | 'T'). Every
    parameter whose name starts with `holds` must be found (the exported decoder wraps a whole autoencoder)."""
    params = {n: p for n, p in module.named_parameters() if n.startswith(holds)}
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for p in params.values():
            p.copy_(torch.randn(p.shape, generator=gen))
    by_values = {np.sort(p.detach().numpy().ravel()).tobytes(): n for n, p in params.items()}
    with tempfile.TemporaryDirectory() as tmp:
        export_component(name, module, inputs, tmp, signature=signature)
        inits = initializers(os.path.join(tmp, name, "model.onnx"))
    layout = []
    for init_name, a in inits:
        key = np.sort(a.astype(np.float32).ravel()).tobytes() if a.dtype == np.float32 else b""
        param = by_values.get(key)
        if param is None:  # a constant of the graph (a shape, a folded buffer), not a weight
            layout.append((init_name, None, "same"))
            continue
        p = params[param].detach().numpy()
        if a.shape == p.shape and np.array_equal(a, p):
            layout.append((init_name, param, "same"))
        elif p.ndim == 2 and a.shape == p.T.shape and np.array_equal(a, p.T):
            layout.append((init_name, param, "T"))
        else:
            raise SystemExit(f"{name}: initializer {init_name} holds {param}'s values in an order this importer cannot undo")
    missing = set(params) - {p for _, p, _ in layout}
    if missing:
        raise SystemExit(f"{name}: parameters {sorted(missing)} are folded into other initializers; cannot import")
    return layout


def load_component(package: str, name: str, module: torch.nn.Module, inputs: tuple, holds: str = "",
                   signature: str | None = None) -> None:
    """Copies the package's weights for component `name` into `module` (same architecture, checked by the layout)."""
    layout = probe_layout(name, module, inputs, holds, signature)
    inits = initializers(os.path.join(package, name, "model.onnx"))
    if [n for n, _, _ in layout] == [n for n, _ in inits]:
        pairs = [(param, how, a) for (_, param, how), (_, a) in zip(layout, inits) if param is not None]
    else:
        pairs = align_weights(name, module, layout, inits)
    state = {}
    for param, how, a in pairs:
        if param not in state:
            state[param] = torch.from_numpy(np.ascontiguousarray(a.T if how == "T" else a).copy())
    module.load_state_dict(state, strict=False)  # buffers (none here) keep their values
    values = sum(int(t.numel()) for t in state.values())
    print(f"{name}: {len(state)} parameters, {values:,} values", flush=True)


def align_weights(name: str, module: torch.nn.Module, layout: list, inits: list) -> list:
    """(parameter, 'same' | 'T', array) pairs when the package's graph was traced by another version of models.py
    (the per-token timestep changed the transformer's graph: its constants and anonymous names, not its weights). A
    weight named after its parameter is found by name; an anonymous one (a Linear's folded `onnx::MatMul_N`) is the
    next unclaimed anonymous package initializer of its shape, in graph order: the forward calls its layers in the
    same order. verify_onnx.mjs (the round trip) then checks the outputs.
    A Linear on a 2-D input is a Gemm that keeps its weight's name, on a 3-D input a MatMul with it folded and
    transposed, so a layer named in one graph may be anonymous in the other: both are tried."""
    params = dict(module.named_parameters())
    named = dict(inits)
    anonymous = [(n, a) for n, a in inits if n not in params and a.dtype == np.float32 and a.ndim >= 1]
    pairs, j = [], 0
    for _, param, how in layout:
        if param is None:
            continue
        shape = tuple(params[param].shape)
        if param in named:
            a = named[param]
            pairs.append((param, "same" if a.shape == shape else "T", a))
            continue
        how = "T" if len(shape) == 2 else "same"
        shape = shape[::-1] if how == "T" else shape
        while j < len(anonymous) and anonymous[j][1].shape != shape:
            j += 1
        if j == len(anonymous):
            raise SystemExit(f"{name}: no initializer of shape {shape} left for {param}: the package's graph differs from a "
                             f"{type(module).__name__} with the architecture in model_index.json")
        pairs.append((param, how, anonymous[j][1]))
        j += 1
    return pairs


def transformer_arch(package: str, training: dict, in_ch: int) -> dict:
    """The recorded architecture, or (packages exported before it was recorded) one read off the initializer names,
    with heads and temporal rank from train_dit.py's ARCH (names and shapes cannot tell them; the probe and the
    comparison after import would)."""
    if "transformer_arch" in training:
        return dict(training["transformer_arch"])
    named = dict(initializers(os.path.join(package, "transformer", "model.onnx")))
    indices = lambda prefix: {int(n[len(prefix):].split(".")[0]) for n in named if n.startswith(prefix)}  # noqa: E731
    arch = dict(ARCH, dim=int(named["patch_embedding.bias"].shape[0]), depth=len(indices("blocks.")),
                patch=int(round((named["proj_out.bias"].shape[0] / in_ch) ** 0.5)))  # proj_out: C * patch^2 outputs
    if "refiner.conv_in.bias" in named:
        arch.update(refiner_channels=int(named["refiner.conv_in.bias"].shape[0]),
                    refiner_blocks=len(indices("refiner.blocks.")),
                    refiner_temporal_blocks=len(indices("refiner.temporal_blocks.")))
    return arch


def vae_arch(package: str, training: dict) -> dict:
    """The recorded autoencoder architecture, or one read off the decoder's names (all its initializers are named).
    Without a packaged encoder, the refitted one gets stage 3's (the larger) encoder."""
    if "vae_arch" in training:
        arch = {k: v for k, v in training["vae_arch"].items() if k != "encoder_trained"}
    else:
        named = dict(initializers(os.path.join(package, "vae_decoder", "model.onnx")))
        arch = {"decoder_context": int(named["ae.dec.net.0.weight"].shape[1]) // LATENT_C - 1,
                "decoder_extra": "ae.dec.low.0.a.weight" in named, "decoder_deep": "ae.dec.full.a.weight" in named,
                "encoder_extra": True}
    return arch


def load_denoiser(package: str) -> dict:
    """The package's tokenizer, text encoder and transformer as PyTorch modules with their weights, and what they were
    read with (model_index.json's animate and training sections, the archs, the example inputs): for the importer and
    for param_map.py."""
    index = json.load(open(os.path.join(package, "model_index.json")))
    info, training = index["animate"], index.get("training", {})
    vocab_ids = json.load(open(os.path.join(package, "tokenizer", "tokenizer.json")))["model"]["vocab"]
    tok = WordTokenizer(sorted(vocab_ids, key=vocab_ids.get))
    text_arch = dict(training.get("text_arch", TEXT_ARCH))
    in_ch = int(info["latent_channels"])
    arch = transformer_arch(package, training, in_ch)
    timestep_shape = info.get("timestep_shape", "batch")  # per-token packages trace with [B, T] timesteps
    ex = example_inputs(tok, in_ch, timestep_shape, arch.get("patch", 2))

    text = TextEncoder(len(tok.vocab), max_len=MAX_LEN, **text_arch).eval()
    load_component(package, "text_encoder", text, (ex["input_ids"],))
    with torch.no_grad():
        hid = text(ex["input_ids"])
    dit = VideoDiT(in_ch=in_ch, text_dim=text_arch["dim"], **arch).eval()
    load_component(package, "transformer", dit, (ex["hidden_states"], ex["timestep"], hid),
                   signature=transformer_signature(timestep_shape))
    return dict(info=info, training=training, tok=tok, text_arch=text_arch, arch=arch, timestep_shape=timestep_shape,
                ex=ex, text=text, dit=dit)


def import_package(args) -> None:
    torch.manual_seed(0)
    package, runs = os.path.abspath(args.package), os.path.abspath(args.runs)
    d = load_denoiser(package)
    info, training, tok, text_arch, arch = d["info"], d["training"], d["tok"], d["text_arch"], d["arch"]
    timestep_shape, ex, text, dit = d["timestep_shape"], d["ex"], d["text"], d["dit"]

    has_encoder = os.path.exists(os.path.join(package, "vae_encoder", "model.onnx"))
    ae_arch = vae_arch(package, training)
    ae = VideoAE(**ae_arch).eval()
    ae.encoder_trained = has_encoder
    mean, std = (torch.tensor(info[k], dtype=torch.float32) for k in ("latents_mean", "latents_std"))
    z = ex["hidden_states"][:1] * std[None, :, None, None, None] + mean[None, :, None, None, None]
    load_component(package, "vae_decoder", DecoderExport(ae).eval(), (z,), holds="ae.dec.")
    if has_encoder:
        load_component(package, "vae_encoder", EncoderExport(ae).eval(), (ex["video"],), holds="ae.enc.")

    step = int(training.get("denoiser_step", 0))
    text_state, dit_state = text.state_dict(), dit.state_dict()
    save_ckpt(os.path.join(runs, "dit", "ckpt.pt"), text=text_state, dit=dit_state, opt=None, ema_text=text_state,
              ema_dit=dit_state, step=step, warm_from=step, mean=mean, std=std, vocab=tok.vocab, arch=arch,
              text_arch=text_arch, imported_from=package, timestep_shape=timestep_shape)
    save_ckpt(os.path.join(runs, os.path.relpath(PACKAGE_CKPT, RUNS)), model=ae.state_dict(), opt=None, step=0, **ae.arch())
    preview = json.load(open(os.path.join(package, "preview", "latent_rgb.json")))
    os.makedirs(os.path.join(runs, "vae"), exist_ok=True)
    with open(os.path.join(runs, "vae", "stats.json"), "w") as f:
        json.dump({"latents_mean": info["latents_mean"], "latents_std": info["latents_std"], "latent_rgb": preview}, f,
                  indent=1)
    print(f"imported {package} (denoiser step {step}) into {runs}"
          + ("" if has_encoder else "; no vae_encoder/ in the package: run `vae.py refit-encoder` before encoding"))
    if args.check:
        check_round_trip(package, runs)


def check_round_trip(package: str, runs: str) -> None:
    """Exports the imported checkpoints again and compares every initializer with the package's, then runs
    verify_onnx.mjs: the package's ONNX files against the imported modules' PyTorch outputs."""
    out = os.path.join(runs, "reexport")
    env = dict(os.environ, TINY_WORLD_RUNS=runs)
    subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--out", out, "--ckpt",
                    os.path.join(runs, "dit", "ckpt.pt")], check=True, env=env)
    for name in ("text_encoder", "transformer", "vae_decoder", "vae_encoder"):
        if not os.path.exists(os.path.join(package, name, "model.onnx")):
            continue
        a, b = initializers(os.path.join(package, name, "model.onnx")), initializers(os.path.join(out, name, "model.onnx"))
        if [n for n, _ in a] != [n for n, _ in b]:  # traced by another models.py (align_weights): outputs are checked below
            print(f"{name}: {len(a)} initializers, the re-export {len(b)} (the graph is traced anew); outputs compared by verify_onnx.mjs")
            continue
        worst = max(float(np.abs(x.astype(np.float64) - y).max()) if x.size else 0.0 for (_, x), (_, y) in zip(a, b))
        same = len(a) == len(b) and all(x.shape == y.shape for (_, x), (_, y) in zip(a, b))
        print(f"{name}: {len(a)} initializers, re-exported max difference {worst:.1e}{'' if same else ' (SHAPES DIFFER)'}")
        if not same or worst > 0:
            raise SystemExit(f"{name}: the re-export differs from the package")
    subprocess.run(["node", os.path.join(HERE, "verify_onnx.mjs"), package, os.path.join(runs, "export-check")],
                   check=True, cwd=os.path.join(HERE, ".."))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", default=os.path.join(HERE, "..", "models", "tiny-world"))
    ap.add_argument("--runs", default=os.path.join(HERE, "runs-import"), help="the runs folder to create")
    ap.add_argument("--no-check", dest="check", action="store_false",
                    help="skip the round trip (re-export and compare, then verify_onnx.mjs)")
    import_package(ap.parse_args())
