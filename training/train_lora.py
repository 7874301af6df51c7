"""Trains one style adapter (a LoRA in PEFT's format) on the frozen base denoiser of a package, for one look of the world.

    /usr/bin/python3 training/train_lora.py --style neon [--package models/tiny-world] [--steps 3000]

A style is a look the procedural world can draw (world.STYLES: neon, chalk, notebook): the same scenes, shapes, colours
and motions, rendered otherwise. The base model is the committed package (read back by import_package.py into a runs
folder); its text encoder and denoiser stay frozen, and small low-rank factors on the blocks' Linear layers learn the
look with the denoiser's own loss (flow matching, train_dit.py's sigmas and captions) on clips of that style encoded by
the package's VAE encoder. PEFT cannot be installed here, so LoRALinear below is a LoRA as PEFT builds one (A random,
kaiming-uniform; B zero, so training starts from the base model exactly), and save_adapter writes what PEFT's
save_pretrained writes: adapter_config.json and adapter_model.safetensors (`base_model.model.<module>.lora_A.weight`
[r, in], `.lora_B.weight` [out, r]), plus animate_style.json (the daemon's description and example prompt), into
<package>/loras/<style>/ (or --out). The daemon merges W + (lora_alpha / r) * strength * B A at load
(docs/model-package.md "loras/"), through transformer/parameter_map.json (training/param_map.py).

Resumable: latents and a checkpoint (factors, optimiser, step) live under --runs; the adapter is written at the end.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import time

import numpy as np
import torch
import torch.nn as nn

import world as W
from checkpoints import DIT_CKPT, PACKAGE_CKPT
from common import HERE, RUNS, Progress, load_ckpt, save_ckpt
from models import TextEncoder, VideoDiT, token_timesteps
from safetensors_io import save_file
from tokenizer import MAX_LEN, WordTokenizer
from train_dit import clip_of, object_weight, sample_sigmas
from vae_model import VideoAE, to_tensor

# Which Linear layers of each block get factors: the temporal attention first (a look that holds over frames), then
# the spatial attention; cross-attention and the MLP stay as they are unless asked.
TARGET_SETS = {
    "temporal": ["attn_t.to_q", "attn_t.to_k", "attn_t.to_v", "attn_t.to_out"],
    "attention": ["attn_t.to_q", "attn_t.to_k", "attn_t.to_v", "attn_t.to_out",
                  "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out"],
    # everything but the cross-attention: the look is learnt while the prompt is read as the base reads it
    "self": ["attn_t.to_q", "attn_t.to_k", "attn_t.to_v", "attn_t.to_out", "attn1.to_q", "attn1.to_k", "attn1.to_v",
             "attn1.to_out", "ff.net_0", "ff.net_2"],
    "all": ["attn_t.to_q", "attn_t.to_k", "attn_t.to_v", "attn_t.to_out", "attn1.to_q", "attn1.to_k", "attn1.to_v",
            "attn1.to_out", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out", "ff.net_0", "ff.net_2"],
}
# What ListModels shows for each look (animate_style.json).
STYLE_CARDS = {
    "neon": {"description": "neon: the shapes lit up and glowing on a dark scene",
             "example_prompt": "a pink heart grows in the sky"},
    "chalk": {"description": "chalk: rough chalk strokes on a dark green blackboard",
              "example_prompt": "a white circle bounces on the grass"},
    "notebook": {"description": "notebook: the shapes drawn on a ruled page of cream paper",
                 "example_prompt": "a yellow star moves left in the sky"},
}
# The shipped adapters' recipe (models/tiny-world/README.md "Styles"): chalk and notebook as here, neon with 300 clips,
# 2,000 steps and no object weight. Rank 4 on the attention alone drew too little of each look.
DEFAULTS = dict(rank=8, alpha=16.0, lr=2e-3, batch=2, steps=3000, clips=600, targets="all", cond_drop=0.1,
                sigma_shift=3.0, object_weight=4.0, seed=0)
CHUNK = 50  # clips per latents file (one file is one unit of resuming the encode)


class LoRALinear(nn.Module):
    """y = base(x) + (alpha / r) * x A^T B^T, the base Linear frozen: PEFT's LoRA layer without dropout."""

    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        super().__init__()
        self.base, self.r, self.scale = base, r, alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # PEFT's init_lora_weights=True: A as a Linear's, B = 0
        for p in base.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scale


def wrap_targets(dit: nn.Module, suffixes: list, r: int, alpha: float) -> dict:
    """Replaces every Linear whose path ends with one of `suffixes` by a LoRALinear; returns {path: LoRALinear}."""
    found = {}
    for name, mod in list(dit.named_modules()):
        if isinstance(mod, nn.Linear) and any(name == s or name.endswith("." + s) for s in suffixes):
            parent_name, _, leaf = name.rpartition(".")
            parent = dit.get_submodule(parent_name) if parent_name else dit
            found[name] = LoRALinear(mod, r, alpha)
            setattr(parent, leaf, found[name])
    if not found:
        raise SystemExit(f"no Linear layer of the denoiser ends with any of {suffixes}")
    return found


def adapter_config(modules: list, r: int, alpha: float, base: str) -> dict:
    """adapter_config.json as PEFT's LoraConfig.save_pretrained writes it for these settings."""
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base, "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
        "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": alpha,
        "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None, "target_modules": sorted(modules),
        "task_type": None, "use_dora": False, "use_rslora": False,
    }


def save_adapter(out: str, loras: dict, r: int, alpha: float, base: str, card: dict) -> None:
    """Writes PEFT's two files and animate_style.json into `out` (each replaced whole: a reader never sees half)."""
    os.makedirs(out, exist_ok=True)
    tensors = {}
    for name, mod in loras.items():
        tensors[f"base_model.model.{name}.lora_A.weight"] = mod.lora_A.detach().float().contiguous()
        tensors[f"base_model.model.{name}.lora_B.weight"] = mod.lora_B.detach().float().contiguous()
    save_file(tensors, os.path.join(out, "adapter_model.safetensors.tmp"), metadata={"format": "pt"})
    os.replace(os.path.join(out, "adapter_model.safetensors.tmp"), os.path.join(out, "adapter_model.safetensors"))
    for fname, obj in (("adapter_config.json", adapter_config(list(loras), r, alpha, base)), ("animate_style.json", card)):
        with open(os.path.join(out, fname + ".tmp"), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(os.path.join(out, fname + ".tmp"), os.path.join(out, fname))


def check_parameter_map(package: str, modules: list) -> None:
    """The daemon finds a MatMul's anonymous initializer only through transformer/parameter_map.json: say so now."""
    path = os.path.join(package, "transformer", "parameter_map.json")
    if not os.path.exists(path):
        print(f"note: {path} is missing; the daemon needs it to merge this adapter: "
              f"/usr/bin/python3 training/param_map.py --package {package}", flush=True)
        return
    mapped = json.load(open(path))
    absent = [m for m in modules if f"{m}.weight" not in mapped]
    if absent:
        raise SystemExit(f"{path} does not list {', '.join(absent[:4])}{' ...' if len(absent) > 4 else ''}: "
                         "the daemon would refuse the adapter; rerun training/param_map.py on the package")


def ensure_imported(package: str, runs: str) -> None:
    """The package's weights as checkpoints in `runs` (import_package.py, without its round-trip check)."""
    if os.path.exists(os.path.join(runs, "dit", "ckpt.pt")):
        return
    from import_package import import_package
    import_package(argparse.Namespace(package=package, runs=runs, check=False))


@torch.no_grad()
def encode_style(style: str, clips: int, runs: str, seed: int) -> tuple:
    """Renders `clips` clips in `style` and encodes them with the package's encoder; (latents [N, C, F, h, w], metas)."""
    folder = os.path.join(runs, "lora_latents", style)
    os.makedirs(folder, exist_ok=True)
    chunks = (clips + CHUNK - 1) // CHUNK
    ae = None
    prog = Progress(chunks, label=f"encode {style}", every_s=10)
    for k in range(chunks):
        path = os.path.join(folder, f"chunk{k:04d}-{seed}.npz")
        n = min(CHUNK, clips - k * CHUNK)
        if os.path.exists(path) and len(json.loads(str(np.load(path)["meta"]))) == n:
            continue
        if ae is None:
            ae = VideoAE.from_checkpoint(load_ckpt(os.path.join(runs, os.path.relpath(PACKAGE_CKPT, RUNS)))).eval()
        # its own seeds, far from train_dit.py's (50_000 + k): other clips of the same world
        rng = np.random.default_rng(900_000 + 1000 * seed + k)
        cl = [W.sample_clip(rng) for _ in range(n)]
        zs = [ae.encode(to_tensor(np.stack([W.render(c, style=style) for c in cl[i:i + 5]]))).half().numpy()
              for i in range(0, n, 5)]
        meta = [{"scene": c.scene, "objs": [[o.shape, o.colour, o.motion] for o in c.objs]} for c in cl]
        np.savez(path + ".tmp.npz", z=np.concatenate(zs), meta=json.dumps(meta))
        os.replace(path + ".tmp.npz", path)
        prog.update(k + 1)
    zs, metas = [], []
    for k in range(chunks):
        d = np.load(os.path.join(folder, f"chunk{k:04d}-{seed}.npz"))
        zs.append(d["z"])
        metas += json.loads(str(d["meta"]))
    return np.concatenate(zs), metas


def load_base(runs: str) -> tuple:
    """(text encoder, denoiser, checkpoint) of the imported package, frozen and in eval mode."""
    ck = load_ckpt(os.path.join(runs, os.path.relpath(DIT_CKPT, RUNS)))
    tok = WordTokenizer(ck["vocab"])
    text = TextEncoder(len(tok.vocab), max_len=MAX_LEN, **ck["text_arch"])
    text.load_state_dict(ck["ema_text"])
    dit = VideoDiT(in_ch=int(ck["mean"].shape[0]), text_dim=ck["text_arch"]["dim"], **ck["arch"])
    dit.load_state_dict(ck["ema_dit"])
    for p in [*text.parameters(), *dit.parameters()]:
        p.requires_grad_(False)
    return text.eval(), dit.eval(), ck, tok


def train(args) -> None:
    torch.set_num_threads(args.threads)
    package, runs = os.path.abspath(args.package), os.path.abspath(args.runs)
    out = os.path.abspath(args.out or os.path.join(package, "loras", args.style))
    ensure_imported(package, runs)
    t0 = time.time()
    z_all, metas = encode_style(args.style, args.clips, runs, args.seed)
    print(f"{len(z_all)} {args.style} clips of latents {tuple(z_all.shape[1:])} ({time.time() - t0:.0f} s)", flush=True)
    text, dit, ck, tok = load_base(runs)
    mean, std = ck["mean"], ck["std"]
    z_all = (torch.from_numpy(z_all.astype(np.float32)) - mean[None, :, None, None, None]) / std[None, :, None, None, None]
    loras = wrap_targets(dit, TARGET_SETS[args.targets], args.rank, args.alpha)
    check_parameter_map(package, list(loras))
    params = [p for m in loras.values() for p in (m.lora_A, m.lora_B)]
    n_lora = sum(p.numel() for p in params)
    n_base = sum(p.numel() for p in dit.parameters()) - n_lora
    print(f"{len(loras)} modules, r {args.rank}, alpha {args.alpha}: {n_lora:,} parameters "
          f"({100 * n_lora / n_base:.2f}% of the denoiser's {n_base:,})", flush=True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
    ck_path = os.path.join(runs, "lora", args.style, "ckpt.pt")
    step = 0
    saved = load_ckpt(ck_path)
    if saved and {k: v for k, v in saved["config"].items() if k != "steps"} == lora_settings(args):
        for name, mod in loras.items():
            mod.lora_A.data.copy_(saved["factors"][name]["A"]), mod.lora_B.data.copy_(saved["factors"][name]["B"])
        opt.load_state_dict(saved["opt"])
        step = saved["step"]
        print(f"resumed at step {step}", flush=True)
    timestep_shape = ck.get("timestep_shape", "batch")
    gen = torch.Generator().manual_seed(args.seed * 7919 + step)
    rng = np.random.default_rng(args.seed * 7919 + step)
    prog = Progress(args.steps, step, label=f"lora {args.style}", every_s=20)
    run_loss, t_save = None, time.time()
    while step < args.steps:
        warm = min(1.0, (step + 1) / 50)
        decay = 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = args.lr * warm * (0.1 + 0.9 * decay)
        idx = torch.randint(0, len(z_all), (args.batch,), generator=gen)
        x0 = z_all[idx]
        # the empty prompt too: classifier-free guidance runs the styled denoiser on both halves of its batch
        captions = [W.caption(clip_of(metas[int(i)]), rng) if rng.random() >= args.cond_drop else "" for i in idx]
        with torch.no_grad():
            context = text(torch.from_numpy(tok.batch(captions)))
        sigma = sample_sigmas(args.batch, gen, args.sigma_shift)
        noise = torch.randn(x0.shape, generator=gen)
        s = sigma[:, None, None, None, None]
        xt = (1 - s) * x0 + s * noise
        if timestep_shape == "tokens":
            p = dit.patch
            timestep = token_timesteps(sigma, x0.shape[2], (x0.shape[3] // p) * (x0.shape[4] // p),
                                       torch.zeros(args.batch, dtype=torch.bool))
        else:
            timestep = sigma * 1000
        v = dit(xt, timestep, context)
        loss = (object_weight(x0, args.object_weight) * (v - (noise - x0)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        run_loss = float(loss) if run_loss is None else 0.98 * run_loss + 0.02 * float(loss)
        prog.update(step, loss=run_loss)
        if time.time() - t_save > 120 or step == args.steps:
            save_ckpt(ck_path, factors={n: {"A": m.lora_A.detach(), "B": m.lora_B.detach()} for n, m in loras.items()},
                      opt=opt.state_dict(), step=step, config=lora_settings(args))
            t_save = time.time()
    name = json.load(open(os.path.join(package, "model_index.json"))).get("name", os.path.basename(package))
    save_adapter(out, loras, args.rank, args.alpha, name, STYLE_CARDS[args.style])
    print(f"wrote {out} ({len(loras)} modules, step {step}, loss {run_loss if run_loss is not None else float('nan'):.4f})",
          flush=True)


def lora_settings(args) -> dict:
    """What a checkpoint must match to be resumed (another rank or target set is another adapter). The steps are not
    in it: a larger --steps goes on from the checkpoint, along the longer schedule."""
    return {"style": args.style, "rank": args.rank, "alpha": args.alpha, "targets": args.targets}


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--style", required=True, choices=W.STYLES, help="the look to learn")
    ap.add_argument("--package", default=os.path.join(HERE, "..", "models", "tiny-world"), help="the base model package")
    ap.add_argument("--out", help="adapter folder to write (default: <package>/loras/<style>)")
    ap.add_argument("--runs", default=os.path.join(HERE, "runs-lora"), help="latents, the imported base, checkpoints")
    ap.add_argument("--rank", type=int, default=DEFAULTS["rank"], help=f"LoRA rank r (default {DEFAULTS['rank']})")
    ap.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help=f"lora_alpha (default {DEFAULTS['alpha']})")
    ap.add_argument("--targets", choices=sorted(TARGET_SETS), default=DEFAULTS["targets"],
                    help=f"which Linear layers of each block (default {DEFAULTS['targets']}: temporal + spatial attention)")
    ap.add_argument("--steps", type=int, default=DEFAULTS["steps"], help=f"training steps (default {DEFAULTS['steps']})")
    ap.add_argument("--batch", type=int, default=DEFAULTS["batch"], help=f"clips per step (default {DEFAULTS['batch']})")
    ap.add_argument("--lr", type=float, default=DEFAULTS["lr"], help=f"peak learning rate (default {DEFAULTS['lr']})")
    ap.add_argument("--clips", type=int, default=DEFAULTS["clips"], help=f"styled clips to encode (default {DEFAULTS['clips']})")
    ap.add_argument("--cond-drop", type=float, default=DEFAULTS["cond_drop"], help="fraction of empty prompts")
    ap.add_argument("--sigma-shift", type=float, default=DEFAULTS["sigma_shift"], help="shift of the training sigmas")
    ap.add_argument("--object-weight", type=float, default=DEFAULTS["object_weight"], help="extra loss weight on objects")
    ap.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="clips and noise")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", "1")), help="torch threads (default 1)")
    a = ap.parse_args(argv)
    for k in ("rank", "steps", "batch", "clips"):
        if getattr(a, k) < 1:
            ap.error(f"--{k} must be at least 1, got {getattr(a, k)}")
    if a.alpha <= 0 or a.lr <= 0:
        ap.error("--alpha and --lr must be positive")
    if not 0 <= a.cond_drop < 1:
        ap.error(f"--cond-drop must be at least 0 and below 1, got {a.cond_drop}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", os.path.basename(os.path.abspath(a.out)) if a.out else a.style):
        ap.error("the adapter folder's name must be a style name: lower-case letters, digits, - and _, 1 to 32")
    return a


if __name__ == "__main__":
    train(parse())
