#!/usr/bin/env bash
# Reproduces models/tiny-world from scratch on a CPU. Every stage resumes from its checkpoint in training/runs/.
#   nohup nice -n 19 training/train_all.sh > training/runs/train_all.log 2>&1 &
# Stage sizes can be overridden: VAE_STEPS, DEC_STEPS, CLIPS, DIT_STEPS, DEC2_STEPS, JOINT_STEPS, DIT2_STEPS, GROW_STEPS,
# DIT3_STEPS, DIT4_STEPS, DEC5_STEPS, DEC5B_STEPS;
# DIT_WORKERS: the denoiser's data-parallel processes (2 on 2 cores: 1.9x the steps/s of one process).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
mkdir -p runs
# Debian's torch links the reference BLAS, which makes the transformer's matmuls ~5x slower than OpenBLAS. Use a private
# copy of OpenBLAS for these processes only (no system change):
if [ ! -e runs/blas/root/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  (mkdir -p runs/blas && cd runs/blas && apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb root) || true
fi
export LD_LIBRARY_PATH="$PWD/runs/blas/root/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPENBLAS_NUM_THREADS=${TRAIN_THREADS:-2}

$PY vae.py train --steps "${VAE_STEPS:-2500}" --batch 16 --latent-noise 0.02
$PY vae.py finetune-decoder --steps "${DEC_STEPS:-8000}" --batch 16 --latent-noise 0.02
$PY vae.py stats --clips 128
$PY train_dit.py encode --clips "${CLIPS:-16000}"
$PY train_dit.py train --steps "${DIT_STEPS:-10000}" --batch 32 --object-weight 4 --sigma-shift 5 --workers "${DIT_WORKERS:-2}"
# Stage 1c after the denoiser: half of its steps decode the denoiser's own x0 estimates (the encoder stays frozen, so the
# latents and the denoiser trained on them stay valid).
$PY vae.py grow-decoder --steps "${DEC2_STEPS:-5000}" --batch 16 --latent-noise 0.02 --lr 7e-4 --denoised-frac 0.5
# Stage 2: encoder and decoder train together again (the frozen stage-1 encoder caps shape: star points are lost in
# its latents), then the denoiser moves to the new latents in a second runs folder, so stage 1's stay as they were.
$PY vae.py joint-finetune --steps "${JOINT_STEPS:-6000}" --recolour 0.5 --anchor 0 --lr 7e-4
mkdir -p runs-v2/vae_dec2 && cp runs/vae_joint/ckpt.pt runs-v2/vae_dec2/ckpt.pt
export TINY_WORLD_RUNS=$PWD/runs-v2
$PY vae.py stats --clips 128
$PY train_dit.py encode --clips "${CLIPS:-16000}"
$PY train_dit.py train --init-from runs/dit/ckpt.pt --steps "${DIT2_STEPS:-17000}" --batch 32 --lr 2e-3 --object-weight 4 \
  --sigma-shift 5 --detail-frac 0.5 --workers "${DIT_WORKERS:-2}"
# Stage 3: the stage-2 encoder grows residual blocks and both train on (stage 2 still lost star points in its latents),
# then the denoiser moves again, to a third runs folder. Two threads in one process suit the autoencoder: its convolutions
# scale (2.85 steps/s against 1.53 on one thread), unlike the denoiser's small matmuls.
mkdir -p runs-v3 && ln -sfn "$PWD/runs-v2/vae_dec2" runs-v3/vae_dec2
export TINY_WORLD_RUNS=$PWD/runs-v3
$PY vae.py grow-encoder --steps "${GROW_STEPS:-8000}" --recolour 0.5 --anchor 0 --lr 5e-4
$PY vae.py stats --clips 128
TRAIN_THREADS=1 OPENBLAS_NUM_THREADS=1 $PY train_dit.py encode --clips "${CLIPS:-16000}" --shard 0/2 &  # one per core
shard0=$!
TRAIN_THREADS=1 OPENBLAS_NUM_THREADS=1 $PY train_dit.py encode --clips "${CLIPS:-16000}" --shard 1/2
wait "$shard0"  # its exit status (a bare `wait` would hide a failed shard)
$PY train_dit.py train --init-from runs-v2/dit/ckpt.pt --steps "${DIT3_STEPS:-23000}" --batch 32 --lr 2.3e-3 \
  --object-weight 4 --sigma-shift 5 --detail-frac 0.5 --workers "${DIT_WORKERS:-2}"
# Stage 4: the denoiser grows a detail refiner (convolutions at the full latent resolution, zero-initialised) and trains
# on, in a fourth runs folder over the same latents and autoencoder.
mkdir -p runs-v4
for d in latents vae vae3 vae_dec2; do ln -sfn "$PWD/runs-v3/$d" "runs-v4/$d"; done  # vae_dec2 links on to runs-v2
export TINY_WORLD_RUNS=$PWD/runs-v4
$PY train_dit.py train --init-from runs-v3/dit/ckpt.pt --grow-refiner 64 --refiner-blocks 2 \
  --cosine-from "${DIT3_STEPS:-23000}" --steps "${DIT4_STEPS:-29000}" --batch 32 --lr 1e-3 --object-weight 4 \
  --sigma-shift 5 --detail-frac 0.5 --workers "${DIT_WORKERS:-2}" --ema 0.999
# Stage 5: the stage-3 decoder trains on alone (the encoder frozen, so the latents and the denoiser trained on them
# stay valid), with extra loss weight on every pixel the world's object masks cover: the stage-3 loss weighed pixels by
# their contrast with the group's mean colour, which lets objects close to their scene's colour (a blue star in the
# sky, pink at sunset) go soft. Its own runs folder, so that vae_dec3/ lands beside links that stay read-only.
# Then it goes on with half of its steps decoding the stage-4 denoiser's own estimates from low noise (sigma <= 0.25), the
# latents it will really be given, a little off from the encoder's.
mkdir -p runs-v5/dit && ln -sfn "$PWD/runs-v4/dit/ckpt.pt" runs-v5/dit/ckpt.pt
for d in latents vae vae3 vae_dec2; do ln -sfn "$PWD/runs-v3/$d" "runs-v5/$d"; done
export TINY_WORLD_RUNS=$PWD/runs-v5
$PY vae.py refine-decoder --steps "${DEC5_STEPS:-2000}" --batch 16 --latent-noise 0.02 --lr 3e-4 --object-weight 8
$PY vae.py refine-decoder --steps "${DEC5B_STEPS:-3500}" --batch 16 --latent-noise 0.02 --lr 3e-4 --object-weight 8 \
  --denoised-frac 0.5 --max-sigma 0.25
$PY export.py
node verify_onnx.mjs ../models/tiny-world runs-v5/export-check
