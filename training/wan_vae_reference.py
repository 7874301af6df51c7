"""diffusers' frame-by-frame AutoencoderKLWan loop, on wan_vae.py's modules, to check the whole-clip passes against.

wan_vae.py rewrites diffusers' cached decode (one latent frame at a time) and encode (1, then 4 frames at a time) as
one causal pass over the clip. This module is the cached loop itself, transcribed from diffusers'
autoencoder_kl_wan.py (feat_cache / feat_idx, CACHE_T = 2, the "Rep" marker of a temporal upsample's first chunk,
first_chunk in the duplicating shortcut), using the same module objects and weights, so that

    /usr/bin/python3 training/wan_vae_reference.py [--vae DIR] [--roundtrip RGB WIDTH HEIGHT]

can print the largest difference between the two on random (or a folder's) weights and exit 1 past the tolerance.
test/tools/export-wan.test.ts runs it, and --roundtrip for what an image-to-video clip's first frame must be (the
first latent frame decodes alone, so that frame is decode(encode(image))). Only for checking: nothing exported uses it.
"""
from __future__ import annotations

import argparse
import json
import sys

import torch
import torch.nn.functional as F

import wan_vae as W

CACHE_T = 2


def _cached_conv(conv, x, cache, idx):
    """The cache bookkeeping diffusers repeats around every causal 3x3x3 convolution."""
    i = idx[0]
    cache_x = x[:, :, -CACHE_T:].clone()
    if cache_x.shape[2] < 2 and cache[i] is not None:
        cache_x = torch.cat([cache[i][:, :, -1:], cache_x], dim=2)
    x = conv(x, cache[i])
    cache[i] = cache_x
    idx[0] += 1
    return x


def resblock(m: W.ResidualBlock, x, cache, idx):
    h = m.conv_shortcut(x)
    x = _cached_conv(m.conv1, F.silu(m.norm1(x)), cache, idx)
    x = _cached_conv(m.conv2, m.dropout(F.silu(m.norm2(x))), cache, idx)
    return x + h


def resample(m: W.Resample, x, cache, idx):
    b, c, t, h, w = x.shape
    if m.mode == "upsample3d":
        i = idx[0]
        if cache[i] is None:
            cache[i] = "Rep"
            idx[0] += 1
        else:
            cache_x = x[:, :, -CACHE_T:].clone()
            if cache_x.shape[2] < 2 and cache[i] != "Rep":
                cache_x = torch.cat([cache[i][:, :, -1:], cache_x], dim=2)
            if cache_x.shape[2] < 2 and cache[i] == "Rep":
                cache_x = torch.cat([torch.zeros_like(cache_x), cache_x], dim=2)
            x = m.time_conv(x) if cache[i] == "Rep" else m.time_conv(x, cache[i])
            cache[i] = cache_x
            idx[0] += 1
            x = x.reshape(b, 2, c, t, h, w)
            x = torch.stack((x[:, 0], x[:, 1]), 3).reshape(b, c, t * 2, h, w)
    x = m.spatial(x)
    if m.mode == "downsample3d":
        i = idx[0]
        if cache[i] is None:
            cache[i] = x.clone()
        else:
            cache_x = x[:, :, -1:].clone()
            x = m.time_conv(torch.cat([cache[i][:, :, -1:], x], 2))
            cache[i] = cache_x
        idx[0] += 1
    return x


def mid(m: W.MidBlock, x, cache, idx):
    x = resblock(m.resnets[0], x, cache, idx)
    for attn, r in zip(m.attentions, m.resnets[1:]):
        x = resblock(r, attn(x), cache, idx)
    return x


def avg_down(m: W.AvgDown3D, x):
    """diffusers' AvgDown3D with its shape-dependent front padding."""
    pad_t = (m.ft - x.shape[2] % m.ft) % m.ft
    x = F.pad(x, (0, 0, 0, 0, pad_t, 0))
    b, c, t, h, w = x.shape
    x = x.reshape(b, c, t // m.ft, m.ft, h // m.fs, m.fs, w // m.fs, m.fs).permute(0, 1, 3, 5, 7, 2, 4, 6)
    return x.reshape(b, m.cout, m.group, t // m.ft, h // m.fs, w // m.fs).mean(dim=2)


def encoder_layer(layer, x, cache, idx):
    if isinstance(layer, W.ResidualBlock):
        return resblock(layer, x, cache, idx)
    if isinstance(layer, W.Resample):
        return resample(layer, x, cache, idx)
    if isinstance(layer, W.ResidualDownBlock):
        copy = x.clone()
        for r in layer.resnets:
            x = resblock(r, x, cache, idx)
        if layer.downsampler is not None:
            x = resample(layer.downsampler, x, cache, idx)
        return x + avg_down(layer.avg_shortcut, copy)
    return layer(x)  # AttentionBlock: per frame, no cache


def encoder(m: W.Encoder3d, x, cache, idx):
    x = _cached_conv(m.conv_in, x, cache, idx)
    for layer in m.down_blocks:
        x = encoder_layer(layer, x, cache, idx)
    x = mid(m.mid_block, x, cache, idx)
    return _cached_conv(m.conv_out, F.silu(m.norm_out(x)), cache, idx)


def up_block(m, x, cache, idx, first_chunk):
    copy = x.clone()
    for r in m.resnets:
        x = resblock(r, x, cache, idx)
    if isinstance(m, W.ResidualUpBlock):
        if m.upsampler is not None:
            x = resample(m.upsampler, x, cache, idx)
        if m.avg_shortcut is not None:
            x = x + m.avg_shortcut(copy, first_chunk=first_chunk)
    elif m.upsamplers is not None:
        x = resample(m.upsamplers[0], x, cache, idx)
    return x


def decoder(m: W.Decoder3d, x, cache, idx, first_chunk):
    x = _cached_conv(m.conv_in, x, cache, idx)
    x = mid(m.mid_block, x, cache, idx)
    for block in m.up_blocks:
        x = up_block(block, x, cache, idx, first_chunk)
    return _cached_conv(m.conv_out, F.silu(m.norm_out(x)), cache, idx)


def count_convs(module) -> int:
    return sum(isinstance(m, W.CausalConv3d) for m in module.modules())


def decode(vae: W.AutoencoderKLWan, z: torch.Tensor) -> torch.Tensor:
    """diffusers' _decode: post_quant_conv, then one latent frame at a time through the cached decoder."""
    cache = [None] * count_convs(vae.decoder)
    x = vae.post_quant_conv(z)
    outs = []
    for i in range(z.shape[2]):
        outs.append(decoder(vae.decoder, x[:, :, i:i + 1], cache, [0], first_chunk=i == 0))
    return W.unpatchify(torch.cat(outs, 2), vae.config["patch_size"]).clamp(-1.0, 1.0)


def encode(vae: W.AutoencoderKLWan, x: torch.Tensor) -> torch.Tensor:
    """diffusers' _encode: frame 0, then 4 frames at a time; the posterior's mean."""
    cache = [None] * count_convs(vae.encoder)
    x = W.patchify(x, vae.config["patch_size"])
    outs = [encoder(vae.encoder, x[:, :, :1], cache, [0])]
    for i in range(1, 1 + (x.shape[2] - 1) // 4):
        outs.append(encoder(vae.encoder, x[:, :, 1 + 4 * (i - 1):1 + 4 * i], cache, [0]))
    return vae.quant_conv(torch.cat(outs, 2))[:, : vae.config["z_dim"]]


# Wan2.2-TI2V's layout (residual blocks, 2x2 patchify, decoder wider than encoder) and Wan2.1's, at tiny widths
TINY_22 = {"base_dim": 4, "decoder_base_dim": 8, "z_dim": 6, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2,
           "attn_scales": [], "temperal_downsample": [False, True, True], "is_residual": True, "in_channels": 12,
           "out_channels": 12, "patch_size": 2, "scale_factor_spatial": 16, "scale_factor_temporal": 4}
TINY_21 = {"base_dim": 4, "z_dim": 4, "dim_mult": [1, 2, 2, 2], "num_res_blocks": 1, "attn_scales": [],
           "temperal_downsample": [False, True, True], "is_residual": False}


def compare(vae: W.AutoencoderKLWan, latent_frames: int, height: int, width: int, seed: int = 0) -> dict:
    """max |whole-clip - frame-by-frame| for decode and encode, with the shapes each gave."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(1, vae.config["z_dim"], latent_frames, height, width, generator=g)
    frames = 1 + vae.temporal_factor * (latent_frames - 1)
    s = vae.spatial_factor
    x = torch.rand(1, 3, frames, height * s, width * s, generator=g) * 2 - 1
    with torch.no_grad():
        d_full, d_ref = vae.decode(z), decode(vae, z)
        e_full, e_ref = vae.encode(x), encode(vae, x)
        one_full, one_ref = vae.decode(z[:, :, :1]), decode(vae, z[:, :, :1])
        img_full, img_ref = vae.encode(x[:, :, :1]), encode(vae, x[:, :, :1])
    return {
        "decode_shape": list(d_full.shape), "decode_max_diff": (d_full - d_ref).abs().max().item(),
        "decode_scale": d_ref.abs().max().item(),
        "encode_shape": list(e_full.shape), "encode_max_diff": (e_full - e_ref).abs().max().item(),
        "encode_scale": e_ref.abs().max().item(),
        "first_frame_shape": list(one_full.shape), "first_frame_max_diff": (one_full - one_ref).abs().max().item(),
        "first_frame_equals_clip_frame_0": (one_full[:, :, 0] - d_full[:, :, 0]).abs().max().item(),
        "image_shape": list(img_full.shape), "image_max_diff": (img_full - img_ref).abs().max().item(),
    }


def load_folder(folder: str) -> W.AutoencoderKLWan:
    import os

    import safetensors_io
    with open(os.path.join(folder, "config.json")) as f:
        vae = W.AutoencoderKLWan(**json.load(f))
    vae.load_state_dict({k: v.float() for k, v in safetensors_io.load_folder(folder).items()}, strict=True)
    return vae.eval()


def roundtrip(folder: str, path: str, width: int, height: int) -> int:
    """The daemon's image-to-video path in PyTorch, frame-by-frame: RGB -> [-1, 1] -> encode -> decode -> RGB."""
    import numpy as np

    rgb = np.fromfile(path, dtype=np.uint8).reshape(height, width, 3)
    x = torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None, :, None]
    vae = load_folder(folder)
    with torch.no_grad():
        y = decode(vae, encode(vae, x))[0, :, 0].permute(1, 2, 0).numpy()
    np.clip(np.round((y + 1) * 127.5), 0, 255).astype(np.uint8).tofile(path + ".out")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="whole-clip AutoencoderKLWan passes against diffusers' frame-by-frame loop")
    ap.add_argument("--vae", help="a vae/ folder (config.json + safetensors); default: random tiny Wan2.2 and Wan2.1 VAEs")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--roundtrip", nargs=3, metavar=("RGB", "WIDTH", "HEIGHT"),
                    help="with --vae: decode(encode(image)) of a raw RGB uint8 file, written as RGB.out (what an "
                         "image-to-video clip's first frame must be)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.roundtrip:
        return roundtrip(args.vae, args.roundtrip[0], int(args.roundtrip[1]), int(args.roundtrip[2]))
    cases = {}
    if args.vae:
        cases["folder"] = load_folder(args.vae)
    else:
        cases["wan2.2"] = W.random_weights(W.AutoencoderKLWan(**TINY_22), 4).eval()
        cases["wan2.1"] = W.random_weights(W.AutoencoderKLWan(**TINY_21), 5).eval()
    report = {name: compare(vae, 3, 2, 3) for name, vae in cases.items()}
    print(json.dumps(report, indent=1))
    worst = max(max(r["decode_max_diff"], r["encode_max_diff"], r["first_frame_max_diff"], r["image_max_diff"],
                    r["first_frame_equals_clip_frame_0"]) for r in report.values())
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
