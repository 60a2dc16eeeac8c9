"""Each DCGAN guideline broken in turn: chapter 09's table.

Radford et al. (2016, section 3) give the rules of a stable deep convolutional GAN. Each
variant of ``dcgan_lib.ABLATIONS`` breaks one of them (``no_guidelines`` breaks them all) and
changes nothing else; every variant trains with the same seeds, data and recipe:
Fashion-MNIST at 32x32 (the first ``--limit`` training images), the library's trainer, the
paper's Adam settings (lr 2e-4, beta1 0.5), batch 64, ``--steps`` generator steps. Each run is
measured by

* FID, precision, recall and classes hit (``dcgan_lib.evaluate``, classifier-fashion32
  features, ``--n`` samples against as many test images);
* the checkerboard score of ``--n`` samples (``dcgan_lib.checkerboard_score``: Nyquist power
  over its neighbours in the spectrum), next to that of as many real test images;
* chapter 04's oscillation measures (``batchnorm_guideline.measure``): the fixed-noise samples'
  change between grids over the second half, the step-to-step jitter of D(G(z)), D's loss.

One CPU thread per run, so that a rerun on the same machine gives the same numbers; each row
keeps the mean D loss and D(G(z)) of its first ``--check-steps`` steps, which chapter 09
reruns live. The seed-1 generator of every variant is exported (float16, generator only) to
``--export`` for the chapter's sample grids. Runs can be split over processes and merged:

    python benchmarks/ablations.py --ablations guideline no_batchnorm ... --json part1.json
    python benchmarks/ablations.py --merge part1.json part2.json --json ablations.json

Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from batchnorm_guideline import measure
from run_record import header, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    ABLATIONS,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    checkerboard_score,
    evaluate,
    export_checkpoint,
    feature_extractor,
    load_dataset,
    make_ablation_pair,
    sample_generator,
)


def run(name, seed, data, args, extractor) -> dict:
    """One training run of ablation ``name``: its measures and scores."""
    G, D = make_ablation_pair(name, (1, 32, 32), 100, args.width, seed=seed)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        seed=seed,
        device="cpu",
        sample_every=args.sample_every,
        progress=False,
    )
    t0 = time.perf_counter()
    trainer = Trainer(G, D, data, config)
    try:
        history = trainer.fit()
        diverged = None
    except NonFiniteLossError as e:  # a diverged run is a result, not a crash
        history, diverged = trainer.history, str(e)
    row = {"ablation": name, "seed": seed, "seconds": time.perf_counter() - t0}
    row["steps_done"], row["diverged"] = trainer.step, diverged
    row.update(measure(history))
    first = slice(0, args.check_steps)
    row["check"] = {
        "steps": args.check_steps,
        "loss_d": sum(history.loss_d[first]) / args.check_steps,
        "d_fake": sum(history.d_fake[first]) / args.check_steps,
    }
    if diverged:  # its weights are not finite: nothing to score
        row.update(fid=None, precision=0.0, recall=0.0, modes_hit=0.0, checkerboard=None)
        return row
    r = evaluate(G, "fashion-mnist", n=args.n, extractor=extractor, seed=0, n_train=0)
    row.update({k: float(r[k]) for k in ("fid", "precision", "recall", "modes_hit")})
    row["checkerboard"] = checkerboard_score(sample_generator(G, args.n, seed=0))
    if seed == 1 and args.export:
        args.export.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            meta = dict(ablation=name, dataset="fashion-mnist", image_size=32, seed=seed)
            trainer.save(Path(tmp) / "run.pt", limit=args.limit, **meta)
            export_checkpoint(Path(tmp) / "run.pt", args.export / f"{name}_s1.pt", True, True)
    return row


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--steps", type=int, default=1000, help="generator steps per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--ablations", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    p.add_argument("--width", type=int, default=16, help="ngf = ndf of the DCGAN pair")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=10_000, help="training images to load")
    p.add_argument("--sample-every", type=int, default=50, help="steps between fixed-noise grids")
    p.add_argument("--n", type=int, default=1000, help="generated (and test) images per score")
    p.add_argument("--check-steps", type=int, default=60, help="steps a live rerun checks")
    p.add_argument("--export", type=Path, help="folder for the seed-1 generators")
    p.add_argument("--json", type=Path, help="write the rows and the run's record here")
    p.add_argument("--merge", type=Path, nargs="+", help="merge these result files into --json")
    return p


def merge(paths, out: Path) -> None:
    """One record from several part files of the same settings (the rows concatenated)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    keep = ("steps", "seeds", "width", "batch_size", "limit", "sample_every", "n", "check_steps")
    for p in parts[1:]:
        if any(p["settings"][k] != parts[0]["settings"][k] for k in keep):
            raise SystemExit(f"{paths[0]} and another part differ in their settings; not merged")
    record = {k: v for k, v in parts[0].items() if k not in ("rows", "command", "wall_time_s")}
    record["commands"] = [p["command"] for p in parts]
    record["wall_time_s"] = [p["wall_time_s"] for p in parts]
    record["rows"] = [r for p in parts for r in p["rows"]]
    write_json(out, record)


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    if args.merge:
        return merge(args.merge, args.json)
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = load_dataset("fashion-mnist", 32, limit=args.limit)
    extractor = feature_extractor("classifier-fashion32", "cpu")
    real = load_dataset("fashion-mnist", 32, split="test", limit=args.n).x
    rows = []
    for name in args.ablations:
        for seed in args.seeds:
            rows.append(run(name, seed, data, args, extractor))
            r = rows[-1]
            print(
                f"{name:>20} seed {seed}: "
                + (
                    f"diverged at step {r['steps_done']}"
                    if r["diverged"]
                    else f"FID {r['fid']:7.2f}  precision {r['precision']:.3f}  "
                    f"recall {r['recall']:.3f}  classes {r['modes_hit']:2.0f}  "
                    f"checkerboard {r['checkerboard']:6.2f}"
                )
                + f"  ({r['seconds']:.0f} s)",
                flush=True,
            )
    if args.json:
        record = {
            **header(argv, args, start),
            "extractor": extractor.name,
            "real_checkerboard": checkerboard_score(real),
            "rows": rows,
        }
        write_json(args.json, record)


if __name__ == "__main__":
    main()
