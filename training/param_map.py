"""Writes transformer/parameter_map.json: which ONNX initializer holds each nn.Linear weight of the exported transformer.

The daemon merges style adapters (LoRA, in PEFT's format: `base_model.model.<module>.lora_A.weight`) into the
transformer's initializers by parameter name (docs/model-package.md "loras/"). torch.onnx.export keeps a Linear's name
when it becomes a Gemm (`time_embedding.0.weight`, stored [out, in]), but folds the transpose of a Linear applied to a
3-D input (a MatMul) into an anonymous `onnx::MatMul_N` holding W transposed ([in, out]); names cannot find those. So
this matches every Linear weight to the initializer equal to it, as it is or transposed, right after the export (the
values are copied bit for bit), and writes

    {"blocks.0.attn1.to_q.weight": {"initializer": "onnx::MatMul_2039", "transposed": true}, ...}

From export.py, right after the transformer's export_component (the module must be the VideoDiT itself, so that the
names are the ones PEFT's keys carry):

    from param_map import write_parameter_map
    write_parameter_map(dit, os.path.join(out, "transformer"))

For a package already exported (the weights are read back into a VideoDiT first, as import_package.py does):

    /usr/bin/python3 training/param_map.py --package models/tiny-world [--out PATH]

When values alone are ambiguous, the node reading the initializer decides: its op gives the orientation (MatMul's
second input holds Wᵀ; Gemm holds W with transB = 1, Wᵀ without), its scope the module (`/blocks.0/attn1/to_q/MatMul`),
which tells a symmetric weight's two readings apart. Two Linears with equal weights cannot be told apart: torch's
export keeps one initializer for both (an Identity feeds the second), and merging into it would change both; such
weights, and weights not found (a Linear the forward pass never uses), are left out and named on stderr. The daemon
then refuses an adapter targeting them, naming the module, instead of merging into the wrong weight.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch

MAP_FILE = "parameter_map.json"


def _scope_matches(module_name: str, node_name: str) -> bool:
    """Whether an exported node's scope ("/blocks.0/attn1/to_q/MatMul") is inside the module "blocks.0.attn1.to_q"."""
    return f"/{module_name.replace('.', '/')}/" in node_name.replace(".", "/")


def parameter_map(module: torch.nn.Module, onnx_path: str) -> tuple[dict, list]:
    """({parameter: {"initializer", "transposed"}}, [parameters not found or ambiguous]) for every nn.Linear weight."""
    model = onnx.load(onnx_path)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    readers: dict[str, list[str]] = {}
    # Orientation by the reading node: None when no MatMul/Gemm reads it as the weight.
    held_transposed: dict[str, bool] = {}
    for node in model.graph.node:
        for slot, name in enumerate(node.input):
            if name not in inits:
                continue
            readers.setdefault(name, []).append(node.name)
            if node.op_type == "MatMul" and slot == 1:
                held_transposed[name] = True
            elif node.op_type == "Gemm" and slot == 1:
                trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
                held_transposed[name] = trans_b == 0
    found, missing = {}, []
    for name, mod in module.named_modules():
        if not isinstance(mod, torch.nn.Linear):
            continue
        param = f"{name}.weight"
        w = mod.weight.detach().cpu().numpy()
        candidates = []
        for init, a in inits.items():
            if a.ndim != 2 or not np.issubdtype(a.dtype, np.floating):
                continue
            ref = w.astype(a.dtype)  # a float16 export holds the rounded weight
            if a.shape == ref.shape and np.array_equal(a, ref):
                candidates.append((init, False))
            if a.shape == ref.T.shape and np.array_equal(a, ref.T):
                candidates.append((init, True))
        if len(candidates) > 1:
            candidates = [c for c in candidates if held_transposed.get(c[0], c[1]) == c[1]] or candidates
        if len(candidates) > 1:
            named = [c for c in candidates if c[0] == param]
            scoped = [c for c in candidates if any(_scope_matches(name, n) for n in readers.get(c[0], []))]
            candidates = named or scoped or candidates
        if len(candidates) != 1:
            why = "no initializer holds it" if not candidates else f"{len(candidates)} initializers hold it: {', '.join(c[0] for c in candidates)}"
            missing.append(f"{param} ({why})")
            continue
        init, transposed = candidates[0]
        found[param] = {"initializer": init, "transposed": transposed}
    taken: dict[str, str] = {}
    for param, target in list(found.items()):
        other = taken.get(target["initializer"])
        if other:
            # One initializer for two weights (tied, or deduplicated by the export): merging one would change both.
            missing += [f"{p} (shares initializer {target['initializer']})" for p in (other, param) if p in found]
            found.pop(param, None)
            found.pop(other, None)
        taken[target["initializer"]] = param
    return found, missing


def write_parameter_map(module: torch.nn.Module, transformer_dir: str, out: str | None = None) -> tuple[dict, list]:
    """Writes the map for <transformer_dir>/model.onnx to `out` (default <transformer_dir>/parameter_map.json);
    returns it and the Linear weights left out."""
    found, missing = parameter_map(module, os.path.join(transformer_dir, "model.onnx"))
    out = out or os.path.join(transformer_dir, MAP_FILE)
    with open(out, "w") as f:
        json.dump(found, f, indent=1, sort_keys=True)
        f.write("\n")
    transposed = sum(1 for t in found.values() if t["transposed"])
    name = os.path.basename(out)
    print(f"{name}: {len(found)} Linear weights ({transposed} held transposed)", flush=True)
    for m in missing:
        print(f"{name}: left out {m}", file=sys.stderr, flush=True)
    return found, missing


def _dit_from_package(package: str) -> torch.nn.Module:
    """The package's transformer as a VideoDiT with its weights (read as import_package.py reads it)."""
    from import_package import load_denoiser

    return load_denoiser(package)["dit"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", required=True, help="a package folder with transformer/model.onnx")
    ap.add_argument("--out", help="where to write the map (default: <package>/transformer/parameter_map.json)")
    args = ap.parse_args()
    torch.manual_seed(0)
    package = os.path.abspath(args.package)
    _, missing = write_parameter_map(_dit_from_package(package), os.path.join(package, "transformer"), args.out)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
