"""The autoencoder's training stages, one function each (the `vae.py` commands; train_all.sh runs them in order).

Each stage reads the checkpoint of the stage before it (vae_growth.stage_input), trains on clips from vae_data.ClipPool
(and, with --denoised-frac, on vae_denoised.DenoisedLatents) with vae_losses.recon_loss, and resumes from its own
checkpoint (checkpoints.py names them all). The decoder stages keep the encoder, so latents (and a denoiser trained on
them) stay valid; the joint ones change the latents, and the denoiser then moves onto them (train_dit.py --init-from).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from checkpoints import (DEC2_CKPT, DEC_CKPT, DEEP_CKPT, DIT_CKPT, JOINT6_CKPT, JOINT_CKPT, PACKAGE_CKPT, REFINE_CKPT,
                         REFIT_CKPT, STAGE3_CKPT, VAE_CKPT)
from common import Progress, load_ckpt, save_ckpt, setup_threads
from vae_data import ClipPool
from vae_denoised import DenoisedLatents
from vae_growth import add_residual_blocks, stage_input, start_stage
from vae_loop import StepEnd, resume, warmup_cosine
from vae_losses import recon_loss
from vae_model import LATENT_C, VideoAE, to_tensor


def train(args) -> None:
    setup_threads()
    torch.manual_seed(0)
    ae = VideoAE()
    opt = torch.optim.AdamW(ae.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(VAE_CKPT, ae, opt)
    rng = np.random.default_rng(1000 + step)
    pool = ClipPool(rng)
    prog = Progress(args.steps, step, label="vae")
    t_last_save = time.time()
    ema = None
    while step < args.steps:
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 if step > args.steps * 0.85 else 1.0)
        for gr in opt.param_groups:
            gr["lr"] = lr
        x, = pool.groups(args.batch, args.crop)
        z = ae.enc(x)
        zn = z + torch.randn_like(z) * args.latent_noise * z.detach().std()
        y = ae.dec(zn)
        rec, err = recon_loss(y, x)
        loss = rec + args.latent_l2 * (z ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        l1 = float(err.mean())
        ema = l1 if ema is None else 0.98 * ema + 0.02 * l1
        pool.refresh(2)
        prog.update(step, l1=ema, zstd=float(z.std()))
        if time.time() - t_last_save > 120 or step == args.steps:
            save_ckpt(VAE_CKPT, model=ae.state_dict(), opt=opt.state_dict(), step=step)
            t_last_save = time.time()
    print("done", flush=True)


def train_decoder(args, ae: VideoAE, ckpt_path: str, label: str, seed: int) -> None:
    """Trains `ae.dec` on frozen-encoder latents of (group, its context groups), resuming from `ckpt_path`; with
    --denoised-frac, that fraction of the steps decodes the denoiser's estimates instead (DenoisedLatents)."""
    ae.enc.requires_grad_(False)
    denoised = DenoisedLatents(max_sigma=args.max_sigma) if getattr(args, "denoised_frac", 0) > 0 else None
    opt = torch.optim.AdamW(ae.dec.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(ckpt_path, ae, opt)
    rng = np.random.default_rng(seed + step)
    pool = ClipPool(rng)
    end_step = StepEnd(ckpt_path, Progress(args.steps, step, label=label), pool, args.steps,
                       **ae.arch())
    while step < args.steps:
        warmup_cosine(opt, args.lr, step, args.steps)
        if denoised is not None and rng.random() < args.denoised_frac:
            target, *zs = denoised.batch(ae, pool, max(1, args.batch // 4), 4, args.crop)
        else:
            groups = pool.groups(args.batch, args.crop, neighbours=ae.dec.context)
            with torch.no_grad():
                zs = [ae.enc(g) for g in groups]
                sd = zs[0].std()
                zs = [z + torch.randn_like(z) * args.latent_noise * sd for z in zs]
            target = groups[0]
        objects = pool.object_masks(args.crop) if args.object_weight else None
        loss, err = recon_loss(ae.dec(torch.cat(zs, 1)), target, args.edge, objects, args.object_weight)
        step = end_step(step, ae, opt, loss, err)
    print("done", flush=True)


def finetune_decoder(args) -> None:
    """Stage 1b: the encoder is frozen (latents do not change); the decoder gets the previous latent frame as context,
    starts from the stage-1 decoder (context weights at zero, so it starts exactly where stage 1 ended) and trains on."""
    setup_threads()
    torch.manual_seed(1)
    base = VideoAE()
    base.load_state_dict(load_ckpt(VAE_CKPT)["model"])
    ae = VideoAE(decoder_context=1)
    ae.enc.load_state_dict(base.enc.state_dict())
    state = base.dec.state_dict()
    w0 = state["net.0.weight"]
    state["net.0.weight"] = torch.cat([w0, torch.zeros_like(w0)], 1)
    ae.dec.load_state_dict(state)
    train_decoder(args, ae, DEC_CKPT, "vae-dec", 3000)


def grow_decoder(args) -> None:
    """Stage 1c: the encoder still frozen; the stage-1b decoder grows (the frame after as context too, residual blocks
    at three resolutions) without changing what it computes at first: the new input weights and each new block's last
    conv start at zero. Then it trains on."""
    setup_threads()
    torch.manual_seed(2)
    base = stage_input(DEC_CKPT, "grow-decoder", "the stage-1b decoder", "run `vae.py finetune-decoder` first")
    ae = VideoAE(decoder_context=2, decoder_extra=True)
    state = dict(base["model"])
    w0 = state["dec.net.0.weight"]
    state["dec.net.0.weight"] = torch.cat([w0, torch.zeros_like(w0[:, :LATENT_C])], 1)
    add_residual_blocks(state, "dec", {"low": ae.dec.low, "mid": ae.dec.mid, "high": ae.dec.high})
    ae.load_state_dict(state)
    train_decoder(args, ae, DEC2_CKPT, "vae-dec2", 5000)


def joint_train(args, ae: VideoAE, old: VideoAE, ckpt_path: str, label: str, seed: int) -> None:
    """Encoder and decoder train together from `ckpt_path` (resumed), --recolour of the clips showing objects in random
    RGB colours; --anchor weighs the drift of the world's own clips' latents from `old`'s (frozen) encoder."""
    old.requires_grad_(False)
    opt = torch.optim.AdamW(ae.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(ckpt_path, ae, opt)
    rng = np.random.default_rng(seed + step)
    pool = ClipPool(rng, recolour=args.recolour)
    end_step = StepEnd(ckpt_path, Progress(args.steps, step, label=label), pool, args.steps, **ae.arch())
    while step < args.steps:
        warmup_cosine(opt, args.lr, step, args.steps)
        groups = pool.groups(args.batch, args.crop, neighbours=2)
        own = torch.tensor([not pool.recoloured[k] for k in pool.last_picks], dtype=torch.float32)
        zs = [ae.enc(g) for g in groups]
        with torch.no_grad():
            z_old = old.enc(groups[0])
            sd = z_old.std()
        y = ae.dec(torch.cat([z + torch.randn_like(z) * args.latent_noise * sd for z in zs], 1))
        objects = pool.object_masks(args.crop) if args.object_weight else None
        rec, err = recon_loss(y, groups[0], args.edge, objects, args.object_weight)
        drift = ((zs[0] - z_old) ** 2).mean(dim=(1, 2, 3)) / sd ** 2
        anchor = (drift * own).sum() / own.sum().clamp(min=1)
        step = end_step(step, ae, opt, rec + args.anchor * anchor, err, drift=float(anchor))
    print("done", flush=True)


def joint_finetune(args) -> None:
    """Stage 2 (train_all.sh then moves the denoiser to its latents in a second runs folder; stage 3 grows its encoder):
    encoder and decoder train together again from stage 1c (the frozen stage-1 encoder never generalised: on
    reconstructions alone shape scores 76% on training combinations and 72% on held-out ones, below the 80% goal).
    --anchor keeps the latents of the world's own clips near stage 1's, so that the denoiser trained on those stays a
    good start for the new ones."""
    setup_threads()
    torch.manual_seed(4)
    base = None
    if not load_ckpt(JOINT_CKPT):
        base = stage_input(DEC2_CKPT, "joint-finetune", "the stage-1c autoencoder", "run `vae.py grow-decoder` first")
        save_ckpt(JOINT_CKPT, model=base["model"], opt=None, step=0, decoder_context=2, decoder_extra=True)
    old = VideoAE.from_checkpoint(base or load_ckpt(DEC2_CKPT))
    joint_train(args, VideoAE(decoder_context=2, decoder_extra=True), old, JOINT_CKPT, "vae-joint", 4000)


def grow_encoder(args) -> None:
    """Stage 3 (run in a runs folder whose vae_dec2 is the stage-2 autoencoder): the encoder grows residual blocks at
    1/2, 1/4 and 1/8 resolution without changing what it computes at first (each new block's last conv starts at
    zero), then encoder and decoder train on together as in stage 2 (the shipped autoencoder). Stage 2 reconstructs
    held-out cases at shape 72% and stars 21-23 times in 35: the latents, not only the decoder, lose the points."""
    setup_threads()
    torch.manual_seed(6)
    base = stage_input(DEC2_CKPT, "grow-encoder", "the stage-2 autoencoder", "see train_all.sh, stage 2")
    old = VideoAE.from_checkpoint(base)
    ae = VideoAE(decoder_context=2, decoder_extra=True, encoder_extra=True)
    start_stage(STAGE3_CKPT, ae, base, "enc", {"res2": ae.enc.res2, "res4": ae.enc.res4, "res8": ae.enc.res8})
    joint_train(args, ae, old, STAGE3_CKPT, "vae-grow-enc", 6000)


def refine_decoder(args) -> None:
    """Decoder refinement (run in a runs folder whose dit/ckpt.pt is the denoiser trained on this autoencoder's
    latents): the encoder frozen, the latest autoencoder's decoder (stage 3, else stage 2) trains on, --denoised-frac of
    its steps decoding that denoiser's own estimates, as stage 1c did. The latents do not change, so the denoiser stays
    valid. Its output is vae_dec3/, which load_trained() then prefers: keep vae_dec2/ and vae3/ links to other folders
    read-only by running it in a folder of its own."""
    setup_threads()
    torch.manual_seed(5)
    base = load_ckpt(STAGE3_CKPT) or stage_input(DEC2_CKPT, "refine-decoder", "the stage-2 or stage-3 autoencoder",
                                                 "see train_all.sh, stages 2 and 3")
    train_decoder(args, VideoAE.from_checkpoint(base), REFINE_CKPT, "vae-refine", 6000)


def deepen_decoder(args) -> None:
    """Stage 6 (run in a runs folder whose vae_dec3 is the stage-5 decoder and dit/ckpt.pt its denoiser): the decoder
    grows residual blocks at 1/4 and 1/2 resolution and one at full resolution (FullResolution), each starting as a
    pass-through, then trains on as stage 5 did. The encoder stays frozen, so latents and denoiser stay valid."""
    setup_threads()
    torch.manual_seed(7)
    base = stage_input(REFINE_CKPT, "deepen-decoder", "the stage-5 decoder", "see train_all.sh, stage 5")
    ae = VideoAE(decoder_context=2, decoder_extra=True, encoder_extra=True, decoder_deep=True)
    start_stage(DEEP_CKPT, ae, base, "dec", {"mid2": ae.dec.mid2, "high2": ae.dec.high2, "full": ae.dec.full})
    train_decoder(args, ae, DEEP_CKPT, "vae-deep", 7000)


def refine_joint(args) -> None:
    """Encoder stage 6 (experiment; run in a runs folder whose vae_dec3 is the stage-5 autoencoder): encoder and
    decoder train together again from stage 5, with --object-weight on the object masks as stage 5's decoder had. The
    stage-5 decoder alone still loses stars orbiting in the sky (`sample.py --recon`): the latent of a fast object's
    four places in a group blurs them, which only the encoder can change. The latents change, so the denoiser has to be
    moved onto them afterwards (re-encode, then train_dit.py --init-from), as stages 2 and 3 were."""
    setup_threads()
    torch.manual_seed(8)
    base = stage_input(REFINE_CKPT, "refine-joint", "the stage-5 autoencoder", "see train_all.sh, stage 5")
    old = VideoAE.from_checkpoint(base)
    start_stage(JOINT6_CKPT, old, base)
    joint_train(args, VideoAE.from_checkpoint(base), old, JOINT6_CKPT, "vae-joint6", 8000)


def refit_encoder(args) -> None:
    """Encoder stage R: a new encoder for a decoder whose own encoder is lost (a runs folder that import_package.py made
    from a package without vae_encoder/). The decoder stays frozen, so the imported denoiser's latents stay valid; the
    encoder learns to invert it. Many latents decode alike, so --stats-weight holds whole clips' latents to the
    per-channel mean and std the denoiser was trained on (its checkpoint's latents_mean/std): the preimage it knows.
    Train it on whole frames (--crop 128): on 64-pixel crops it learned latents that depend on the crop's borders
    (reconstruction L1 0.033 on crops, 0.38 on whole clips); the original encoders trained jointly with their decoder."""
    setup_threads()
    torch.manual_seed(4)
    base = stage_input(PACKAGE_CKPT, "refit-encoder", "an imported package", "run `import_package.py` first")
    dit = stage_input(DIT_CKPT, "refit-encoder", "the imported denoiser", "run `import_package.py` first")
    mean, std = (torch.as_tensor(dit[k]).float()[None, :, None, None, None] for k in ("mean", "std"))
    ae = VideoAE.from_checkpoint(base)
    start_stage(REFIT_CKPT, ae, base)
    ae.encoder_trained = True  # what every checkpoint after step 0 records
    ae.dec.requires_grad_(False)
    opt = torch.optim.AdamW(ae.enc.parameters(), lr=args.lr, weight_decay=0.0)
    step = resume(REFIT_CKPT, ae, opt)
    rng = np.random.default_rng(9000 + step)
    pool = ClipPool(rng, recolour=args.recolour)
    end_step = StepEnd(REFIT_CKPT, Progress(args.steps, step, label="vae-refit"), pool, args.steps, **ae.arch())
    while step < args.steps:
        warmup_cosine(opt, args.lr, step, args.steps)
        groups = pool.groups(args.batch, args.crop, neighbours=ae.dec.context)
        zs = [ae.enc(g) for g in groups]
        sd = zs[0].detach().std()
        y = ae.dec(torch.cat([z + torch.randn_like(z) * args.latent_noise * sd for z in zs], 1))
        objects = pool.object_masks(args.crop) if args.object_weight else None
        rec, err = recon_loss(y, groups[0], args.edge, objects, args.object_weight)
        clips = to_tensor(np.stack([pool.clips[pool.captioned()] for _ in range(2)]))  # the world's colours
        zn = (ae.encode(clips) - mean) / std
        off = (zn.mean(dim=(0, 2, 3, 4)) ** 2 + (zn.std(dim=(0, 2, 3, 4)) - 1) ** 2).mean()
        step = end_step(step, ae, opt, rec + args.stats_weight * off, err, stats=float(off))
    print("done", flush=True)
