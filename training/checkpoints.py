"""Where each stage keeps its checkpoint in a runs folder, and which trained autoencoder a later stage loads.

Every stage (the autoencoder's, the denoiser's, the exporter, the sampler, the importer) names these paths: they live
in this one module, which imports no stage, so that no two training modules import each other to share a name.
"""
from __future__ import annotations

import os

from common import RUNS, load_ckpt
from vae_model import VideoAE

# The autoencoder's stages (vae_stages.py), in the order load_trained() prefers them, latest first, read from the end.
VAE_CKPT = os.path.join(RUNS, "vae", "ckpt.pt")  # stage 1 (`vae.py train`)
DEC_CKPT = os.path.join(RUNS, "vae_dec", "ckpt.pt")
DEC2_CKPT = os.path.join(RUNS, "vae_dec2", "ckpt.pt")
JOINT_CKPT = os.path.join(RUNS, "vae_joint", "ckpt.pt")
REFINE_CKPT = os.path.join(RUNS, "vae_dec3", "ckpt.pt")
STAGE3_CKPT = os.path.join(RUNS, "vae3", "ckpt.pt")
DEEP_CKPT = os.path.join(RUNS, "vae_dec6", "ckpt.pt")
JOINT6_CKPT = os.path.join(RUNS, "vae6", "ckpt.pt")
PACKAGE_CKPT = os.path.join(RUNS, "vae_package", "ckpt.pt")  # written by import_package.py
REFIT_CKPT = os.path.join(RUNS, "vae_refit", "ckpt.pt")
# Latent mean/std and the preview's latent->RGB factors (`vae.py stats`; import_package.py copies the package's).
VAE_STATS = os.path.join(RUNS, "vae", "stats.json")
# Text encoder + denoiser (train_dit.py train; import_package.py writes it from a package).
DIT_CKPT = os.path.join(RUNS, "dit", "ckpt.pt")


def load_trained(need_encoder: bool = True) -> VideoAE:
    """The autoencoder of the latest stage that has run in this runs folder: in a folder made by import_package.py, a
    refitted encoder, else the package's autoencoder; in the recipe's folders, encoder stage 6, else a deepened decoder,
    stage 6, else a refined decoder, stage 2b or 5, else 3, else 1c or stage 2 copied in its place, else 1b, else 1.
    `need_encoder`: exit, naming the stage to run, when its encoder is untrained (the decoder alone is then fine)."""
    ck = (load_ckpt(REFIT_CKPT) or load_ckpt(PACKAGE_CKPT) or load_ckpt(JOINT6_CKPT) or load_ckpt(DEEP_CKPT)
          or load_ckpt(REFINE_CKPT) or load_ckpt(STAGE3_CKPT) or load_ckpt(DEC2_CKPT) or load_ckpt(DEC_CKPT)
          or load_ckpt(VAE_CKPT))
    if ck is None:
        raise SystemExit(f"no autoencoder checkpoint in {RUNS}: train one (train_all.sh) or import a package "
                         "(import_package.py)")
    ae = VideoAE.from_checkpoint(ck).eval()
    if need_encoder and not ae.encoder_trained:
        raise SystemExit(f"the autoencoder in {RUNS} was imported from a package without vae_encoder/, so it has no "
                         "trained encoder: run `vae.py refit-encoder` first")
    return ae
