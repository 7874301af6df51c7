"""The video autoencoder's command line: one command per training stage, and `stats`.

The networks are in vae_model.py, the stages in vae_stages.py (their data in vae_data.py and vae_denoised.py, the loss
in vae_losses.py, the shared loop in vae_loop.py, how a stage grows from the one before in vae_growth.py), `stats` in
vae_stats.py, and every checkpoint path in checkpoints.py. This file only parses the command line and dispatches.

    /usr/bin/python3 training/vae.py train --steps 3000        # resumable (training/runs/vae/ckpt.pt)
    /usr/bin/python3 training/vae.py finetune-decoder --steps 3000   # frozen encoder, decoder with temporal context
    /usr/bin/python3 training/vae.py grow-decoder --steps 5000       # frozen encoder, larger decoder, both neighbours
    /usr/bin/python3 training/vae.py joint-finetune --steps 6000 --recolour 0.5 --anchor 0  # stage 2: encoder unfrozen
    /usr/bin/python3 training/vae.py refine-decoder --steps 3000 --denoised-frac 0.5  # stage 2b (experiment)
    /usr/bin/python3 training/vae.py grow-encoder --steps 8000 --recolour 0.5 --anchor 0 --lr 5e-4  # stage 3 (new runs folder)
    /usr/bin/python3 training/vae.py refine-decoder --steps 2000 --lr 3e-4 --object-weight 8  # stage 5 (new runs folder)
    /usr/bin/python3 training/vae.py deepen-decoder --steps 3000 --lr 3e-4 --object-weight 8 --denoised-frac 0.5 \
        --max-sigma 0.25                                       # stage 6 (experiment, new runs folder)
    /usr/bin/python3 training/vae.py refine-joint --steps 4000 --recolour 0.5 --anchor 0 --lr 3e-4 --object-weight 8
                                                               # encoder stage 6 (experiment, new runs folder)
    /usr/bin/python3 training/vae.py refit-encoder --steps 4000 --crop 128 --batch 4 --lr 1e-3 --object-weight 8
                                                               # a new encoder for an imported package's decoder
    /usr/bin/python3 training/vae.py stats                     # latents_mean/std + preview/latent_rgb.json factors

The decoder fine-tune keeps the encoder, so latents (and a denoiser trained on them) stay valid while the decoder gets
the previous latent frame as context (causal, as Wan's decoder caches the previous chunk) and more training.
"""
from __future__ import annotations

import argparse

import vae_stages as S
from vae_stats import stats

# The commands in the order train_all.sh runs the recipe's stages (then the experiments and the import's refit).
COMMANDS = {"train": S.train, "finetune-decoder": S.finetune_decoder, "grow-decoder": S.grow_decoder,
            "joint-finetune": S.joint_finetune, "refine-decoder": S.refine_decoder, "grow-encoder": S.grow_encoder,
            "deepen-decoder": S.deepen_decoder, "refine-joint": S.refine_joint, "refit-encoder": S.refit_encoder,
            "stats": stats}


def parser() -> argparse.ArgumentParser:
    """Every stage's options (each stage reads the ones it uses); the defaults are written here only."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=list(COMMANDS))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--latent-noise", type=float, default=0.05)
    ap.add_argument("--latent-l2", type=float, default=1e-4)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--denoised-frac", type=float, default=0.0,
                    help="grow-decoder, refine-decoder: fraction of steps on the denoiser's x0 estimates (needs a denoiser "
                         "checkpoint)")
    ap.add_argument("--max-sigma", type=float, default=0.6,
                    help="the noise level those estimates start from is drawn uniformly from [0, MAX_SIGMA]")
    ap.add_argument("--recolour", type=float, default=0.0,
                    help="fraction of training clips whose objects get random RGB colours (joint-finetune, grow-encoder)")
    ap.add_argument("--edge", type=float, default=0.0,
                    help="weight of the L1 on pixel differences (every stage but train): sharper corners")
    ap.add_argument("--object-weight", type=float, default=0.0,
                    help="decoder stages and the joint ones: extra loss weight on every object pixel (the world's object masks)")
    ap.add_argument("--anchor", type=float, default=0.1,
                    help="weight of the latents' drift from the previous stage's (joint-finetune, grow-encoder)")
    ap.add_argument("--stats-weight", type=float, default=0.1,
                    help="refit-encoder: weight of the latents' per-channel mean/std drift from the denoiser's")
    return ap


if __name__ == "__main__":
    args = parser().parse_args()
    COMMANDS[args.cmd](args)
