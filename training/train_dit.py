"""The denoiser stage: text encoder + video denoiser trained jointly with flow matching on latents of the procedural world.

    /usr/bin/python3 training/train_dit.py encode --clips 6000   # render + encode clips with the trained VAE (resumable;
                                                                   # --shard K/N: one of N processes)
    /usr/bin/python3 training/train_dit.py train --steps 1500    # resumable (training/runs/dit/ckpt.pt)

Flow matching as the package format defines it: x_t = (1 - s) x0 + s noise, target v = noise - x0, timestep = s * 1000.
Sigmas are drawn logit-normal (plus 10% uniform); 10% of prompts are dropped to the empty prompt for classifier-free
guidance. Latents are normalised per channel with the dataset mean/std (exported as latents_mean/std).

Image-to-video (--image-frac): part of the batch has latent frame 0 clean (the encoded picture, as the daemon pins it)
and out of the loss. With `--timesteps tokens` the denoiser gets one timestep per patch token, frame 0's at 0
(`timestep_shape: "tokens"`); `--image-adapter W --train adapters` grows gated ImageAdapters (models.py) and trains
only them, so text-to-video stays exactly the model it started from.
"""
from __future__ import annotations

import argparse
import copy
import ctypes
import glob
import json
import os
import shutil
import signal
import time

import numpy as np
import torch
import torch.distributed
import torch.multiprocessing

import world as W
from checkpoints import DIT_CKPT, load_trained
from common import RUNS, Progress, load_ckpt, save_ckpt, setup_threads
from models import TextEncoder, VideoDiT, count, token_timesteps
from tokenizer import MAX_LEN, UNK as UNK_ID, WordTokenizer
from vae_model import to_tensor

LAT_DIR = os.path.join(RUNS, "latents")
ARCH = dict(dim=128, depth=4, heads=4, temporal_rank=32, patch=2)
TEXT_ARCH = dict(dim=128, heads=4, depth=2)


@torch.no_grad()
def encode(args) -> None:
    setup_threads()
    os.makedirs(LAT_DIR, exist_ok=True)
    ae = load_trained()
    chunk = 250
    shard, shards = (int(v) for v in args.shard.split("/"))
    mine = [k for k in range(args.clips // chunk) if k % shards == shard]
    prog = Progress(len(mine), label="encode", every_s=5)
    for done, k in enumerate(mine):
        path = os.path.join(LAT_DIR, f"chunk{k:04d}.npz")
        if os.path.exists(path):
            continue
        rng = np.random.default_rng(50_000 + k)
        clips = [W.sample_clip(rng) for _ in range(chunk)]
        zs = []
        for i in range(0, chunk, 10):
            v = to_tensor(np.stack([W.render(c) for c in clips[i:i + 10]]))
            zs.append(ae.encode(v).half().numpy())
        meta = [{"scene": c.scene, "objs": [[o.shape, o.colour, o.motion] for o in c.objs]} for c in clips]
        np.savez(path + ".tmp.npz", z=np.concatenate(zs), meta=json.dumps(meta))
        os.replace(path + ".tmp.npz", path)
        prog.update(done + 1)
    print("done", flush=True)


def load_latents():
    zs, metas = [], []
    for p in sorted(glob.glob(os.path.join(LAT_DIR, "chunk*.npz"))):
        d = np.load(p)
        zs.append(d["z"])
        metas += json.loads(str(d["meta"]))
    return np.concatenate(zs), metas


def clip_of(meta: dict) -> W.Clip:
    return W.Clip(meta["scene"], [W.Obj(s, c, m) for s, c, m in meta["objs"]], 0)


def object_weight(x0: torch.Tensor, strength: float) -> torch.Tensor:
    """Objects cover a few latent pixels and the MSE is dominated by the background: weight pixels that stand out from
    their row (median over width and frames) more. [B, C, F, H, W] -> [B, 1, F, H, W]; 1 everywhere when strength = 0."""
    if strength <= 0:
        return torch.ones_like(x0[:, :1])
    b, c, f, h, w = x0.shape
    med = x0.permute(0, 1, 3, 2, 4).reshape(b, c, h, f * w).median(-1).values  # [B, C, H]
    d = (x0 - med[:, :, None, :, None]).abs().mean(1, keepdim=True)
    m = d / (d.mean(dim=(2, 3, 4), keepdim=True) + 1e-6)
    return 1 + strength * (m - 1).clamp(0, 4) / 4


def clip_weights(metas: list, spec: str) -> torch.Tensor | None:
    """Sampling weights from --shape-weight "star=2,ring=2": a clip's weight is the largest of its objects' shapes'
    (1 for shapes not named). None when `spec` is empty: clips are drawn uniformly."""
    if not spec:
        return None
    weights = {}
    for part in spec.split(","):
        shape, _, w = part.partition("=")
        if shape not in W.SHAPES or not w:
            raise SystemExit(f"--shape-weight {spec!r}: each part must be SHAPE=WEIGHT with SHAPE one of {W.SHAPES}")
        weights[shape] = float(w)
    return torch.tensor([max(weights.get(s, 1.0) for s, _, _ in m["objs"]) for m in metas])


def sample_sigmas(n: int, gen: torch.Generator, shift: float = 1.0, detail_frac: float = 0.0) -> torch.Tensor:
    """Logit-normal (10% uniform), then shifted like the sampler's schedule (sigma' = shift s / (1 + (shift - 1) s)).
    The sampler with shift 3 spends half of its steps above sigma 0.75, where the layout and the motion are decided;
    unshifted logit-normal training puts only ~2% of its samples above 0.9. But shifted by 5, only ~6% fall below
    0.5, where edges and corners are drawn: `detail_frac` of the samples stay unshifted (median 0.5) for those."""
    s = torch.sigmoid(torch.randn(n, generator=gen))
    u = torch.rand(n, generator=gen)
    s = torch.where(torch.rand(n, generator=gen) < 0.1, u, s)
    shifted = (shift * s / (1 + (shift - 1) * s))
    return torch.where(torch.rand(n, generator=gen) < detail_frac, s, shifted).clamp(1e-3, 1.0)


def pin_first_frame(xt: torch.Tensor, x0: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-to-video as the daemon runs it for a package whose timestep is [B] (`timestep_shape: "batch"`,
    inference/pipeline/conditioning.ts): latent frame 0 of the items in `image` is the clip's clean latent (the encoded
    picture, pinned after every step) while the item keeps the step's timestep. Their frame 0 is given, not predicted,
    so it is left out of the loss: returns the new x_t and a [B, 1, F, 1, 1] mask of the elements that count."""
    xt = xt.clone()
    xt[image, :, 0] = x0[image, :, 0]
    keep = torch.ones(xt.shape[0], 1, xt.shape[2], 1, 1)
    keep[image, :, 0] = 0
    return xt, keep


def train(args) -> None:
    """Trains on one process, or on --workers processes of one thread each that average their gradients (gloo).

    On this 2-core CPU one process with two threads ran at 0.50 steps/s and one with one thread at 0.77: BLAS and
    torch's own threads fight over the cores. Two single-thread processes, each on half the batch, use both cores."""
    if args.workers > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
        # the workers are new interpreters that load BLAS from these at import: one thread each, set before they start
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["TRAIN_THREADS"] = "1"
        torch.multiprocessing.spawn(train_worker, args=(args,), nprocs=args.workers)
    else:
        train_worker(0, args)


def die_with_parent() -> None:
    """A worker ends when the process that spawned it does (Linux PR_SET_PDEATHSIG): killing the run kills it all."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
    except OSError:
        pass


def train_worker(rank: int, args) -> None:
    world = args.workers
    if world > 1:
        die_with_parent()
        if args.batch % world:
            raise SystemExit(f"--batch {args.batch} must be a multiple of --workers {world}")
        torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    main = rank == 0
    log = print if main else (lambda *a, **k: None)
    local_batch = args.batch // world
    setup_threads()
    z_all, metas = load_latents()
    weights = clip_weights(metas, args.shape_weight)
    z_all = torch.from_numpy(z_all.astype(np.float32))
    ck = load_ckpt(DIT_CKPT)
    # A resumed run keeps the normalisation it started with, also when more clips have been encoded since: the
    # denoiser's inputs must not shift under it. A new run normalises with these latents' own statistics, also one
    # that starts from another folder's denoiser (moving to a new autoencoder's latents: weights and optimiser carry over).
    new_run = ck is None
    if new_run and args.init_from:
        ck = load_ckpt(args.init_from)
        if ck is None:
            raise SystemExit(f"--init-from {args.init_from}: no such checkpoint")
        log(f"warm start from {args.init_from} (step {ck['step']}) with the normalisation of {LAT_DIR}", flush=True)
    if new_run:
        mean, std = z_all.mean(dim=(0, 2, 3, 4)), z_all.std(dim=(0, 2, 3, 4))
    else:
        mean, std = ck["mean"], ck["std"]
    z_all = (z_all - mean[None, :, None, None, None]) / std[None, :, None, None, None]
    log(f"{len(z_all)} clips of latents {tuple(z_all.shape[1:])}", flush=True)
    tok = WordTokenizer()
    text = TextEncoder(len(tok.vocab), max_len=MAX_LEN, **TEXT_ARCH)
    arch = dict(ck["arch"]) if ck else dict(ARCH)
    if args.grow_refiner and not arch.get("refiner_channels"):
        arch.update(refiner_channels=args.grow_refiner, refiner_blocks=args.refiner_blocks)
        log(f"growing a detail refiner: {args.grow_refiner} channels, {args.refiner_blocks} blocks", flush=True)
    if args.grow_temporal and not arch.get("refiner_temporal_blocks"):
        if not arch.get("refiner_channels"):
            raise SystemExit("--grow-temporal needs a denoiser with a detail refiner (grow one with --grow-refiner)")
        arch.update(refiner_temporal_blocks=args.grow_temporal)
        log(f"growing the refiner by {args.grow_temporal} temporal blocks", flush=True)
    if args.image_adapter and not arch.get("image_adapter"):
        arch.update(image_adapter=args.image_adapter)
        log(f"growing image adapters of width {args.image_adapter}", flush=True)
    # One timestep per item ("batch") or per patch token ("tokens"): the checkpoint's unless asked; adapters open only
    # on per-token timesteps (models.image_gate), so a model with them is trained and exported with "tokens".
    timestep_shape = args.timesteps or (ck or {}).get("timestep_shape", "batch")
    if arch.get("image_adapter") and timestep_shape != "tokens":
        raise SystemExit("a denoiser with image adapters needs --timesteps tokens (they are gated on per-token timesteps)")
    if args.train == "adapters" and not arch.get("image_adapter"):
        raise SystemExit("--train adapters needs image adapters (grow them with --image-adapter WIDTH)")
    dit = VideoDiT(in_ch=z_all.shape[1], text_dim=TEXT_ARCH["dim"], **arch)
    log(f"text encoder {count(text):,} params, denoiser {count(dit):,} params", flush=True)
    # --train adapters: the text encoder and the base denoiser stay frozen (text-to-video is then exactly theirs).
    frozen = args.train == "adapters"
    params = list(dit.adapters.parameters()) if frozen else list(text.parameters()) + list(dit.parameters())
    trainable = {id(p) for p in params}
    for p in [*text.parameters(), *dit.parameters()]:
        p.requires_grad_(id(p) in trainable)
    log(f"training {sum(p.numel() for p in params):,} parameters ({args.train}), timesteps: {timestep_shape}", flush=True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema_text, ema_dit = copy.deepcopy(text), copy.deepcopy(dit)
    step = warm_from = 0
    if ck:
        # strict=False: modules added since the checkpoint (zero-initialised, so they change nothing) start fresh, and
        # then the optimiser state, whose parameter list no longer matches, starts fresh too (with a new warm-up).
        missing = dit.load_state_dict(ck["dit"], strict=False).missing_keys
        ema_dit.load_state_dict(ck["ema_dit"], strict=False)
        text.load_state_dict(ck["text"]), ema_text.load_state_dict(ck["ema_text"])
        if frozen:  # frozen weights train nothing: the EMA copy must hold them exactly, not drift from them
            dit.load_state_dict({k: t for k, t in ck["ema_dit"].items() if not k.startswith("adapters.")}, strict=False)
            text.load_state_dict(ck["ema_text"])
        step = warm_from = ck["step"]
        if missing:
            log(f"new parameters {missing}: optimiser state reset", flush=True)
        elif ck.get("opt") is None:
            log("no optimiser state (a checkpoint imported from a package): fresh optimiser, with a warm-up", flush=True)
        else:
            opt.load_state_dict(ck["opt"])
            warm_from = ck.get("warm_from", 0)
        log(f"resumed at step {step}", flush=True)
    if world > 1:  # a fresh run initialises each worker's modules from its own seed: all start from worker 0's
        for t in [*text.parameters(), *dit.parameters(), *ema_text.parameters(), *ema_dit.parameters()]:
            torch.distributed.broadcast(t.data, 0)
    # EMA pairs: only what trains (a frozen weight's EMA is the weight itself)
    ema_pairs = [(e, p) for e, p in zip([*ema_text.parameters(), *ema_dit.parameters()], [*text.parameters(), *dit.parameters()])
                 if id(p) in trainable]
    # Each worker draws its own part of the batch; the parameters stay equal because every worker applies the same
    # averaged gradients.
    gen = torch.Generator().manual_seed(1 + step + 1_000_003 * rank)
    rng = np.random.default_rng(7 + step + 1_000_003 * rank)
    prog = Progress(args.steps, step, label="dit")
    t_save = time.time()
    run_loss = None
    while step < args.steps:
        warm = min(1.0, (step + 1 - warm_from) / 50)
        decay = 0.5 * (1 + np.cos(np.pi * min(1.0, max(0, step - args.cosine_from) / (args.steps - args.cosine_from))))
        for g in opt.param_groups:
            g["lr"] = args.lr * warm * (0.1 + 0.9 * decay)
        idx = (torch.randint(0, len(z_all), (local_batch,), generator=gen) if weights is None
               else torch.multinomial(weights, local_batch, replacement=True, generator=gen))
        x0 = z_all[idx]
        captions = [W.caption(clip_of(metas[int(i)]), rng) if rng.random() >= args.cond_drop else "" for i in idx]
        ids = torch.from_numpy(tok.batch(captions))
        if args.word_drop > 0:  # words replaced by [UNK]: each word must carry its meaning alone, and [UNK] reads as "any"
            ids[(ids > UNK_ID) & (torch.rand(ids.shape, generator=gen) < args.word_drop)] = UNK_ID
        sigma = sample_sigmas(local_batch, gen, args.sigma_shift, args.detail_frac)
        noise = torch.randn(x0.shape, generator=gen)
        s = sigma[:, None, None, None, None]
        xt = (1 - s) * x0 + s * noise
        counted = None  # image-to-video items: frame 0 is given, out of the loss
        image = torch.zeros(local_batch, dtype=torch.bool)
        if args.image_frac > 0:
            image = torch.rand(local_batch, generator=gen) < args.image_frac
            xt, counted = pin_first_frame(xt, x0, image)
        if timestep_shape == "tokens":
            p = dit.patch
            timestep = token_timesteps(sigma, x0.shape[2], (x0.shape[3] // p) * (x0.shape[4] // p), image)
        else:
            timestep = sigma * 1000
        with torch.set_grad_enabled(not frozen):
            context = text(ids)
        v = dit(xt, timestep, context)
        err = object_weight(x0, args.object_weight) * (v - (noise - x0)) ** 2
        loss = err.mean() if counted is None else (err * counted).sum() / counted.expand_as(err).sum()
        opt.zero_grad()
        loss.backward()
        if world > 1:
            average_gradients(params, world)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        d = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in ema_pairs:
                e.mul_(d).add_(p.detach(), alpha=1 - d)
        if not main:
            continue
        run_loss = float(loss) if run_loss is None else 0.98 * run_loss + 0.02 * float(loss)
        prog.update(step, loss=run_loss)
        keep = args.keep_every > 0 and step % args.keep_every == 0
        if time.time() - t_save > 120 or step == args.steps or keep:
            save_ckpt(DIT_CKPT, text=text.state_dict(), dit=dit.state_dict(), opt=opt.state_dict(), ema_text=ema_text.state_dict(),
                      ema_dit=ema_dit.state_dict(), step=step, warm_from=warm_from, mean=mean, std=std, vocab=tok.vocab, arch=arch,
                      text_arch=TEXT_ARCH, timestep_shape=timestep_shape)
            t_save = time.time()
            if keep:  # checkpoints to compare later: shape adherence moves several points between nearby steps
                shutil.copyfile(DIT_CKPT, os.path.join(os.path.dirname(DIT_CKPT), f"ckpt-{step}.pt"))
    log("done", flush=True)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def average_gradients(params: list, world: int) -> None:
    """One all-reduce over all gradients flattened (the model is small: one call costs less than many)."""
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["encode", "train"])
    ap.add_argument("--clips", type=int, default=6000)
    ap.add_argument("--shard", default="0/1", help="encode: K/N encodes every N-th chunk from the K-th (one process "
                    "per core: N processes with K = 0 .. N-1 share the clips)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cond-drop", type=float, default=0.1)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--sigma-shift", type=float, default=3.0, help="shift of the training sigmas (match the sampler's)")
    ap.add_argument("--detail-frac", type=float, default=0.0,
                    help="fraction of training sigmas left unshifted (low and mid noise, where shapes get their edges)")
    ap.add_argument("--word-drop", type=float, default=0.0, help="probability that a caption word is replaced by [UNK]")
    ap.add_argument("--init-from", default="", help="a denoiser checkpoint to start from when this runs folder has none "
                    "(its normalisation is recomputed from this folder's latents)")
    ap.add_argument("--workers", type=int, default=1,
                    help="data-parallel processes of one thread each, gradients averaged (2 on a 2-core CPU)")
    ap.add_argument("--grow-refiner", type=int, default=0, metavar="CHANNELS",
                    help="add a zero-initialised DetailRefiner (convolutions at full latent resolution) of this width")
    ap.add_argument("--refiner-blocks", type=int, default=2, help="residual blocks of the grown refiner")
    ap.add_argument("--grow-temporal", type=int, default=0, metavar="BLOCKS",
                    help="add this many zero-initialised 3x3x3 blocks (TemporalRefinerBlock) to the refiner")
    ap.add_argument("--cosine-from", type=int, default=0, help="step where the cosine learning-rate schedule starts "
                    "(a grown model restarts it)")
    ap.add_argument("--keep-every", type=int, default=0, help="also keep a copy ckpt-STEP.pt every this many steps (0: none)")
    ap.add_argument("--shape-weight", default="", metavar="SHAPE=W,...",
                    help="draw clips showing these shapes W times as often (e.g. star=2,ring=2): the shapes it gets wrong")
    ap.add_argument("--image-frac", type=float, default=0.0, help="fraction of the batch trained as image-to-video: "
                    "latent frame 0 is the clip's clean latent (as the daemon pins the encoded image) and out of the loss")
    ap.add_argument("--object-weight", type=float, default=0.0, help="extra loss weight (up to 1 + this) on object pixels")
    ap.add_argument("--timesteps", choices=["batch", "tokens"], default=None, help="one timestep per item or per patch "
                    "token (frame 0 of image-to-video items at 0); default: the checkpoint's, else batch")
    ap.add_argument("--image-adapter", type=int, default=0, metavar="WIDTH", help="grow gated, zero-initialised "
                    "ImageAdapters of this inner width (image-to-video only; needs --timesteps tokens)")
    ap.add_argument("--train", choices=["all", "adapters"], default="all", help="what trains: everything, or only the "
                    "image adapters (the text encoder and base denoiser frozen: text-to-video unchanged)")
    a = ap.parse_args()
    if a.cmd == "train" and not 0 <= a.image_frac <= 1:
        ap.error(f"--image-frac {a.image_frac} must be between 0 and 1")
    if a.cmd == "train" and not 0 <= a.cosine_from < a.steps:
        ap.error(f"--cosine-from {a.cosine_from} must be at least 0 and below --steps {a.steps}")
    encode(a) if a.cmd == "encode" else train(a)
