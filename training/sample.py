"""Writes clips for checking the model during training, with sampler.py (the same Euler flow-matching loop as the daemon).

    /usr/bin/python3 training/sample.py --out /tmp/clips [--heldout] [--steps 20 --guidance 4.5 --shift 3]

Writes <out>/<k>.rgb (uint8 [T, H, W, 3]) plus <out>/cases.json, the layout tools/eval reads with `--frames-dir`.
`--truth` writes the world's own renders of the same cases instead (to validate the analytic checks); `--recon` writes
them encoded and decoded by the autoencoder (the ceiling any denoiser works under). `--star-probe` replaces the held-out
cases by a star of every allowed colour on every scene, moving right (stars are the shape the autoencoder loses most).

    /usr/bin/python3 training/sample.py --prior out.png "a red ball moves left" "a blue box falls"

draws what the denoiser believes at sigma = 1 (its x0 estimate from pure noise, averaged over 8 noises, one row of
every other frame per prompt): the layout it starts sampling from. A central blob for every motion means it has not
learned the motion yet, whatever the loss says.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

import world as W
from checkpoints import DIT_CKPT, load_trained
from common import setup_threads
from sampler import Sampler, to_uint8
from vae_model import to_tensor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="folder for the clips and cases.json")
    ap.add_argument("--prior", metavar="PNG", help="draw the denoiser's sigma = 1 estimate for the given prompts instead")
    ap.add_argument("prompts", nargs="*", help="prompts for --prior")
    ap.add_argument("--truth", action="store_true", help="render the world's ground truth for the cases instead")
    ap.add_argument("--recon", action="store_true",
                    help="the ground truth encoded and decoded by the autoencoder (the ceiling any denoiser works under)")
    ap.add_argument("--style", choices=W.STYLES, help="--truth / --recon: the world's render in this look (the ceiling "
                    "of a style's adapter)")
    ap.add_argument("--star-probe", action="store_true",
                    help="instead of the held-out cases: a star of every allowed colour on every scene, moving right")
    ap.add_argument("--train-cases", type=int, default=0, help="also sample N in-distribution training prompts")
    ap.add_argument("--no-heldout", action="store_true", help="leave out the held-out cases (with --train-cases)")
    ap.add_argument("--ckpt", default=DIT_CKPT, help="denoiser checkpoint (default: the runs folder's dit/ckpt.pt)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=4.5)
    ap.add_argument("--shift", type=float, default=3.0)
    args = ap.parse_args()
    setup_threads()
    if args.prior:
        from PIL import Image  # optional, only for this picture
        sampler = Sampler(ckpt=args.ckpt)
        rows = [np.concatenate(list(sampler.prior(p)[::2]), 1) for p in args.prompts or ["a red ball moves left"]]
        Image.fromarray(np.concatenate(rows, 0)).save(args.prior)
        print(f"step {sampler.step}: {args.prior}")
        return
    if not args.out:
        ap.error("--out is required (or --prior)")
    os.makedirs(args.out, exist_ok=True)
    cases = [] if args.no_heldout else list(W.WORLD["eval_cases"])
    if args.star_probe:
        cases = [{"prompt": f"a {c} star moves right {W.WORLD['scenes'][sc]['phrases'][0]}".strip(), "shape": "star",
                  "colour": c, "motion": "right", "scene": sc, "seed": 7, "heldout_pair": "star probe"}
                 for c in W.COLOURS for sc in W.SCENES if W.allowed("star", c, "right", sc)]
    rng = np.random.default_rng(99)
    for k in range(args.train_cases):
        s, c, m, sc = W.sample_attrs(rng)
        clip = W.Clip(sc, [W.Obj(s, c, m)], 0)
        cases.append({"prompt": W.caption(clip, rng), "shape": s, "colour": c, "motion": m, "scene": sc,
                      "seed": int(rng.integers(1, 10**6)), "heldout_pair": "none (training combination)"})
    if args.limit:
        cases = cases[:args.limit]
    sampler = None if args.truth or args.recon else Sampler(ckpt=args.ckpt)
    ae = load_trained() if args.recon else None
    for k, case in enumerate(cases):
        if args.truth or args.recon:
            r = np.random.default_rng(case["seed"])
            clip = W.Clip(case["scene"], [W.Obj(case["shape"], case["colour"], case["motion"],
                                                W.sample_motion_params(case["motion"], r))], case["seed"])
            video = W.render_styled(clip, args.style) if args.style else W.render(clip)
            if ae is not None:
                with torch.no_grad():
                    video = to_uint8(ae.decode(ae.encode(to_tensor(video[None])))[0])
        else:
            video = sampler(case["prompt"], case["seed"], args.steps, args.guidance, args.shift)
        video.tofile(os.path.join(args.out, f"{k}.rgb"))
        case = dict(case, file=f"{k}.rgb", frames=int(video.shape[0]), width=int(video.shape[2]), height=int(video.shape[1]))
        cases[k] = case
        print(k, case["prompt"], flush=True)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(cases[:len(cases)], f, indent=1)


if __name__ == "__main__":
    main()
