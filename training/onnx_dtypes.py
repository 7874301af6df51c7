"""Float16 graphs and external data for export_wan.py's ONNX files.

PyTorch 1.13 on the CPU has no float16 matmul, so a float16 export cannot be traced in float16 there. It can be traced
in bfloat16 (which the CPU runs), and the graph then keeps the models' own precision plan: the casts to float32 around
norms, the timestep embedding and rotary terms that diffusers/transformers write. Rewriting every bfloat16 type in that
graph to float16 gives the float16 model with the same plan; the daemon accepts float32 and float16 at the graph's
edge (onnxruntime has few bfloat16 kernels, so bfloat16 is not written). Graphs over protobuf's 2 GB limit keep their
weights in one `model.onnx_data` file beside `model.onnx` (the loader checks it: inference/model/external-data.ts).
"""
from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

EXTERNAL_FILE = "model.onnx_data"
# Protobuf refuses messages of 2 GiB; stay clear of it (the graph itself adds a little).
PROTOBUF_LIMIT = 2_000_000_000 - 64 * 1024 * 1024


def _bf16_tensor_to_fp16(t: onnx.TensorProto) -> None:
    if t.data_type != TensorProto.BFLOAT16:
        return
    if t.raw_data:
        bits = np.frombuffer(t.raw_data, dtype=np.uint16)
    else:  # bfloat16 values may sit in int32_data, one per element
        bits = np.asarray(t.int32_data, dtype=np.uint16)
    values = (bits.astype(np.uint32) << 16).view(np.float32)
    # float16 tops out at 65504: bfloat16's large constants (a mask's minimum) become the float16 extremes, not inf
    half = np.clip(values, -65504.0, 65504.0).astype(np.float16)
    dims = list(t.dims)
    name = t.name
    t.Clear()
    t.CopyFrom(numpy_helper.from_array(half.reshape(dims), name))


def _retype(value_info: onnx.ValueInfoProto) -> None:
    tt = value_info.type.tensor_type
    if tt.elem_type == TensorProto.BFLOAT16:
        tt.elem_type = TensorProto.FLOAT16


def bf16_to_fp16(model: onnx.ModelProto) -> int:
    """Rewrites every bfloat16 initializer, constant, cast and edge type to float16; returns how many were changed."""
    changed = 0
    g = model.graph
    for t in g.initializer:
        if t.data_type == TensorProto.BFLOAT16:
            _bf16_tensor_to_fp16(t)
            changed += 1
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.BFLOAT16:
                _bf16_tensor_to_fp16(a.t)
                changed += 1
            elif node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.BFLOAT16:
                a.i = TensorProto.FLOAT16
                changed += 1
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.tensor_type.elem_type == TensorProto.BFLOAT16:
            _retype(v)
            changed += 1
    return changed


def save(model: onnx.ModelProto, path: str, external: str = "auto") -> bool:
    """Writes model.onnx; weights go to model.onnx_data when `external` is "always", or "auto" and the graph is too
    large for one protobuf. Returns whether external data was written."""
    if external not in ("auto", "always", "never"):
        raise ValueError(f"external data mode {external!r}; allowed: auto, always, never")
    big = model.ByteSize() > PROTOBUF_LIMIT if external == "auto" else external == "always"
    data_path = os.path.join(os.path.dirname(path), EXTERNAL_FILE)
    if os.path.exists(data_path):
        os.remove(data_path)  # save_model appends to an existing data file
    if big:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=EXTERNAL_FILE, size_threshold=0)
    else:
        if external == "never" and model.ByteSize() > PROTOBUF_LIMIT:
            raise ValueError(f"{path}: the graph is {model.ByteSize() / 1e9:.1f} GB, over protobuf's 2 GB; "
                             "use --external-data auto or always")
        onnx.save_model(model, path)
    return big
