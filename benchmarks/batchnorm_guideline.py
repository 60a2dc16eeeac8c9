"""Does BatchNorm at G's output and D's input make a small DCGAN oscillate?

Radford et al. (2016) leave BatchNorm out of "the generator output layer and the
discriminator input layer": applied to all layers it "resulted in sample oscillation and model
instability". Chapter 04 tests the claim at the book's scale. Three placements
(``dcgan_lib.make_ablation_pair``), the same seeds, data and recipe for each:

* ``guideline``: the paper's pair (the book's Generator and Discriminator);
* ``d_input``: also a BatchNorm after D's first convolution;
* ``everywhere``: that, and a BatchNorm before G's Tanh.

Each run trains on Fashion-MNIST at 32x32 (the first ``--limit`` training images) with the
library's trainer and the paper's Adam settings, and is measured by

* ``sample_change``: the mean absolute pixel change of the fixed-noise samples between two
  consecutive grids (``--sample-every`` steps apart) over the second half of the run: how much
  the generator's output for the same z still swings ("sample oscillation");
* ``jitter``: the mean absolute change of D(G(z)) from one step to the next, whole run;
* ``loss_d`` and ``loss_d_std``: the mean and the standard deviation of D's loss over the
  second half;
* FID, precision, recall and classes hit (``dcgan_lib.evaluate``, classifier-fashion32
  features, ``--n`` samples against as many test images).

One CPU thread, so that a rerun on the same machine gives the same numbers. Each row also
keeps the mean D loss and D(G(z)) of its first ``--check-steps`` steps: chapter 04 reruns the
start of one row live and compares.

    python benchmarks/batchnorm_guideline.py --json benchmarks/results/batchnorm_guideline.json

Not run by the tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from run_record import header, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    TrainConfig,
    Trainer,
    evaluate,
    feature_extractor,
    load_dataset,
    make_ablation_pair,
)

PLACEMENTS = ("guideline", "d_input", "everywhere")


def measure(history) -> dict:
    """The oscillation measures of one run's History (see the module docstring)."""
    half = len(history) // 2
    grids = [
        history.images(i)
        for i, s in enumerate(history.sample_steps)
        if s >= history.sample_steps[-1] / 2
    ]
    change = [(b - a).abs().mean().item() for a, b in zip(grids[:-1], grids[1:])]
    loss_d = np.array(history.loss_d[half:])
    return {
        "sample_change": float(np.mean(change)),
        "jitter": float(np.mean(np.abs(np.diff(history.d_fake)))),
        "loss_d": float(loss_d.mean()),
        "loss_d_std": float(loss_d.std()),
        "d_real": float(np.mean(history.d_real[half:])),
        "d_fake": float(np.mean(history.d_fake[half:])),
    }


def run(placement, seed, data, args, extractor=None) -> dict:
    """One training run of ``placement`` and its measures; with ``extractor``, also its scores."""
    G, D = make_ablation_pair(placement, (1, 32, 32), 100, args.width, seed=seed)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        seed=seed,
        device="cpu",
        sample_every=args.sample_every,
        progress=False,
    )
    t0 = time.perf_counter()
    history = Trainer(G, D, data, config).fit()
    row = {"placement": placement, "seed": seed, "seconds": time.perf_counter() - t0}
    row.update(measure(history))
    first = slice(0, args.check_steps)  # what a shorter rerun of the same run must reproduce
    row["check"] = {
        "steps": args.check_steps,
        "loss_d": float(np.mean(history.loss_d[first])),
        "d_fake": float(np.mean(history.d_fake[first])),
    }
    if extractor is not None:
        r = evaluate(G, "fashion-mnist", n=args.n, extractor=extractor, seed=0, n_train=0)
        row.update({k: float(r[k]) for k in ("fid", "precision", "recall", "modes_hit")})
    return row


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--steps", type=int, default=400, help="generator steps per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--placements", nargs="+", default=list(PLACEMENTS), choices=PLACEMENTS)
    p.add_argument("--width", type=int, default=16, help="ngf = ndf of the DCGAN pair")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=10_000, help="training images to load")
    p.add_argument("--sample-every", type=int, default=25, help="steps between fixed-noise grids")
    p.add_argument("--n", type=int, default=1000, help="generated (and test) images per score")
    p.add_argument(
        "--check-steps", type=int, default=60, help="steps whose mean losses a rerun can check"
    )
    p.add_argument("--json", type=Path, help="write the rows and the run's record here")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = load_dataset("fashion-mnist", 32, limit=args.limit)
    extractor = feature_extractor("classifier-fashion32", "cpu")
    rows = []
    for placement in args.placements:
        for seed in args.seeds:
            rows.append(run(placement, seed, data, args, extractor))
            r = rows[-1]
            print(
                f"{placement:>10} seed {seed}: sample change {r['sample_change']:.4f}  "
                f"jitter {r['jitter']:.4f}  D loss {r['loss_d']:.3f} ± {r['loss_d_std']:.3f}  "
                f"FID {r['fid']:.2f}  recall {r['recall']:.3f}  classes {r['modes_hit']:.0f}  "
                f"({r['seconds']:.0f} s)",
                flush=True,
            )
    if args.json:
        record = {
            **header(argv, args, start),
            "extractor": extractor.name,
            "rows": rows,
        }
        write_json(args.json, record)


if __name__ == "__main__":
    main()
