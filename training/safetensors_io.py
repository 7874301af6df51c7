"""Reads and writes the safetensors format without the `safetensors` package.

export_wan.py reads diffusers' Wan2.2 folders (transformer/*.safetensors, text_encoder/*.safetensors, vae/...), and the
test writes tiny ones, on machines where `safetensors`/`diffusers` cannot be installed. The format is small: an 8-byte
little-endian header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
then the raw little-endian tensor bytes. Sharded checkpoints add `<name>.safetensors.index.json` ({"weight_map":
{tensor: file}}).
"""
from __future__ import annotations

import json
import os
import struct

import torch

# safetensors dtype names <-> torch dtypes (the ones Wan checkpoints use, plus the integer types tokenizers' ids need).
DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}


class SafetensorsError(ValueError):
    """A checkpoint file that is not valid safetensors: the message names the file and what is wrong."""


def read_header(path: str) -> tuple[dict, int]:
    """The JSON header of one file and the byte offset where tensor data begins."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise SafetensorsError(f"{path}: shorter than the 8-byte header length of a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n > 100_000_000 or n > os.path.getsize(path) - 8:
            raise SafetensorsError(f"{path}: header length {n} is larger than the file (not a safetensors file?)")
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise SafetensorsError(f"{path}: header is not JSON ({e})") from None
    return header, 8 + n


def load_file(path: str) -> dict[str, torch.Tensor]:
    """Every tensor of one .safetensors file, with its stored dtype (bf16 stays bf16)."""
    header, start = read_header(path)
    size = os.path.getsize(path)
    out: dict[str, torch.Tensor] = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            dtype = DTYPES.get(info.get("dtype"))
            if dtype is None:
                raise SafetensorsError(f"{path}: tensor {name} has dtype {info.get('dtype')!r}; allowed: {', '.join(DTYPES)}")
            begin, end = info["data_offsets"]
            shape = [int(d) for d in info["shape"]]
            count = 1
            for d in shape:
                count *= d
            itemsize = torch.empty((), dtype=dtype).element_size()
            if end - begin != count * itemsize or start + end > size:
                raise SafetensorsError(f"{path}: tensor {name} data_offsets {begin}..{end} do not fit shape {shape} "
                                       f"{info['dtype']} in a file of {size} bytes")
            f.seek(start + begin)
            buf = bytearray(f.read(end - begin))
            # frombuffer needs a non-empty buffer; bool/uint8 etc. go through uint8 so every dtype reads the same way
            t = torch.frombuffer(buf, dtype=torch.uint8) if buf else torch.empty(0, dtype=torch.uint8)
            out[name] = t.view(dtype).reshape(shape).clone()
    return out


def save_file(tensors: dict[str, torch.Tensor], path: str, metadata: dict | None = None) -> None:
    """Writes tensors in safetensors layout (sorted by name, 8-byte aligned header, as the reference writer does)."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in NAMES:
            raise SafetensorsError(f"{path}: tensor {name} has dtype {t.dtype}, which safetensors cannot hold here")
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def load_folder(folder: str) -> dict[str, torch.Tensor]:
    """All weights of a diffusers/transformers component folder: one file, or shards listed by an index.json."""
    if not os.path.isdir(folder):
        raise SafetensorsError(f"{folder}: no such component folder")
    indexes = [n for n in sorted(os.listdir(folder)) if n.endswith(".safetensors.index.json")]
    if indexes:
        index_path = os.path.join(folder, indexes[0])
        with open(index_path) as f:
            weight_map = json.load(f).get("weight_map")
        if not isinstance(weight_map, dict):
            raise SafetensorsError(f"{index_path}: has no weight_map object")
        files = sorted(set(weight_map.values()))
    else:
        files = [n for n in sorted(os.listdir(folder)) if n.endswith(".safetensors")]
    if not files:
        raise SafetensorsError(f"{folder}: holds no .safetensors file (only safetensors checkpoints are read)")
    out: dict[str, torch.Tensor] = {}
    for name in files:
        out.update(load_file(os.path.join(folder, name)))
    return out


def save_sharded(tensors: dict[str, torch.Tensor], folder: str, stem: str, shards: int) -> None:
    """Writes `shards` files plus the index.json diffusers writes for large checkpoints (the test reads these back)."""
    names = sorted(tensors)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        fname = f"{stem}-{i + 1:05d}-of-{shards:05d}.safetensors"
        save_file({n: tensors[n] for n in part}, os.path.join(folder, fname))
        weight_map.update({n: fname for n in part})
    with open(os.path.join(folder, f"{stem}.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)
