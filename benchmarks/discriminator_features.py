"""The discriminator as a feature learner: the table of notebooks/11_discriminator_features.

Radford et al. (2016, section 5.1) max-pooled every convolutional layer of a trained DCGAN
discriminator to a 4x4 grid, concatenated the results and trained a regularised linear L2-SVM
on them. This script does the same on Fashion-MNIST (32x32), with a logistic-regression probe,
with the shipped discriminators checkpoints/features/dcgan_s{1,2,3}.pt, against three baselines
on the same labels:

* pixels: the 32x32 images themselves, with the same linear classifier;
* random D: a discriminator of the same shape, as initialised (seeds 1, 2, 3), same pipeline;
* supervised: the discriminator's architecture trained on the labelled images alone
  (DiscriminatorClassifier, trained by train_classifier).

Labelled subsets of 100, 1,000 and 5,000 training images (class-balanced, one subset per seed,
drawn from the 55,000 outside a fixed validation split of the last 5,000). 5,000 stands for
"many labels": probes on every discriminator's features of all 55,000 images, and supervised runs
over them, take hours on the shared 2-core CPU this table was made on, where one probe at 5,000
labels takes minutes (raise --labels, up to 55000, and --max-iter on a faster machine).
Seed s pairs discriminator s with subset s (and random D s, and the supervised run's seed s).
The probe's C is chosen on the validation split with the first seed's subset, from --Cs, for
every number of labels up to --sweep-max (larger subsets reuse the C of the largest of those);
the test split (10,000 images) is used only for the scores. Writes the table and its provenance
to --out (JSON), which the chapter reads:

    python benchmarks/discriminator_features.py

Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    DiscriminatorClassifier,
    balanced_subset,
    discriminator_features,
    hardware,
    linear_probe,
    load_dataset,
    load_model,
    make_pair,
    pretrained,
    resolve_device,
    train_classifier,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "discriminator_features.json"
VALIDATION = 5_000  # the last images of the train split, never a labelled example
# the supervised runs, batch 64: epochs by number of labels, 200 to 240 steps each
EPOCHS = {100: 100, 1000: 13, 5000: 3}
BATCH = 64


def discriminator(kind: str, seed: int, image_shape):
    if kind == "DCGAN D":
        return load_model(pretrained(f"features/dcgan_s{seed}.pt"), "discriminator").float()
    return make_pair("dcgan", image_shape, width=32, seed=seed)[1].eval()  # as initialised


def mean_std(values) -> dict:
    return {
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--labels", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--grid", type=int, default=4, help="pooled grid size per layer")
    parser.add_argument("--Cs", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2, 1e-1])
    parser.add_argument(
        "--sweep_max",
        "--sweep-max",
        type=int,
        default=1000,
        help="choose C on the validation split up to this many labels; larger subsets reuse "
        "the C chosen for the largest of those",
    )
    parser.add_argument(
        "--kinds", nargs="*", default=["pixels", "random D", "DCGAN D", "supervised"]
    )
    parser.add_argument(
        "--max_iter", "--max-iter", type=int, default=100, help="L-BFGS iterations per probe"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--merge",
        nargs="*",
        default=[],
        help="JSON files this script wrote (with other --kinds): keep their rows",
    )
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    t_start = time.perf_counter()

    train = load_dataset("fashion-mnist", 32, "train")
    test = load_dataset("fashion-mnist", 32, "test")
    pool = len(train) - VALIDATION
    subsets = {
        (n, s): balanced_subset(train.y[:pool], n, s) for n in args.labels for s in args.seeds
    }
    val = torch.arange(pool, len(train))
    rows = {}
    for kind in [k for k in args.kinds if k != "supervised"]:
        chosen, scores = {}, {n: [] for n in args.labels}
        for s in args.seeds:
            t0 = time.perf_counter()
            need = torch.unique(torch.cat([subsets[(n, s)] for n in args.labels] + [val]))
            if kind == "pixels":
                net = None
                f_need, f_test = train.x[need].flatten(1), test.x.flatten(1)
            else:
                net = discriminator(kind, s, tuple(train.x.shape[1:])).to(device)
                f_need = discriminator_features(net, train.x[need], args.grid)
                f_test = discriminator_features(net, test.x, args.grid)
            where = torch.full((len(train),), -1, dtype=torch.long)
            where[need] = torch.arange(len(need))
            print(f"{kind} seed {s}: {f_need.shape[1]} features of {len(need) + len(test)}", end="")
            print(f" images in {time.perf_counter() - t0:.0f} s", flush=True)
            for n in sorted(args.labels):
                idx = subsets[(n, s)]
                if n not in chosen:  # C: on the validation split, with the first seed's subset
                    if n <= args.sweep_max or not chosen:
                        validation = {
                            C: linear_probe(
                                f_need[where[idx]],
                                train.y[idx],
                                f_need[where[val]],
                                train.y[val],
                                C=C,
                                max_iter=args.max_iter,
                            )["accuracy"]
                            for C in args.Cs
                        }
                        chosen[n] = (max(validation, key=validation.get), validation)
                    else:
                        chosen[n] = (chosen[max(chosen)][0], {})
                C = chosen[n][0]
                r = linear_probe(
                    f_need[where[idx]], train.y[idx], f_test, test.y, C=C, max_iter=args.max_iter
                )
                scores[n].append(
                    {k: r[k] for k in ("accuracy", "seconds", "iterations")} | {"seed": s}
                )
                print(
                    f"  {kind}, {n} labels, seed {s}: {r['accuracy']:.4f} (C={C:g}, "
                    f"{r['seconds']:.0f} s)",
                    flush=True,
                )
        for n in args.labels:
            rows[f"{kind}|{n}"] = {
                "features": kind,
                "labels": n,
                "dims": int(f_test.shape[1]),
                "C": chosen[n][0],
                "validation": {f"{C:g}": a for C, a in chosen[n][1].items()},
                "runs": scores[n],
                **mean_std([r["accuracy"] for r in scores[n]]),
            }
    for n in args.labels if "supervised" in args.kinds else []:
        runs = []
        for s in args.seeds:
            torch.manual_seed(s)
            model = DiscriminatorClassifier(32, 1, 32, 10)
            _, record = train_classifier(
                "fashion-mnist",
                32,
                epochs=EPOCHS[n],
                batch_size=BATCH,
                seed=s,
                device=device,
                indices=subsets[(n, s)],
                model=model,
                progress=False,
            )
            runs.append({"seed": s, "accuracy": record["test_accuracy"], "steps": record["steps"]})
            print(
                f"  supervised, {n} labels, seed {s}: {record['test_accuracy']:.4f} "
                f"({record['steps']} steps, {record['wall_time_s']:.0f} s)",
                flush=True,
            )
        rows[f"supervised|{n}"] = {
            "features": "supervised",
            "labels": n,
            "epochs": EPOCHS[n],
            "batch_size": BATCH,
            "steps": runs[0]["steps"],
            "runs": runs,
            **mean_std([r["accuracy"] for r in runs]),
        }

    print(f"\n{'features':<12} {'labels':>7} {'dims':>6} {'C':>7}  test accuracy (mean ± std)")
    for row in rows.values():
        print(
            f"{row['features']:<12} {row['labels']:>7} {row.get('dims', '-'):>6} "
            f"{row.get('C', '-'):>7}  {row['mean']:.4f} ± {row['std']:.4f} "
            f"[{row['min']:.4f}, {row['max']:.4f}]"
        )
    command = shlex.join(
        ["python", "benchmarks/discriminator_features.py", *(argv or sys.argv[1:])]
    )
    commands, wall = [], round(time.perf_counter() - t_start, 1)
    for path in args.merge:  # the rows of earlier runs with other --kinds, and their provenance
        earlier = json.loads(Path(path).read_text())
        if (earlier["seeds"], earlier["pool"], earlier["grid"]) != (args.seeds, pool, args.grid):
            raise ValueError(f"{path} was made with other seeds, pool or grid")
        rows = {**{f"{r['features']}|{r['labels']}": r for r in earlier["rows"]}, **rows}
        commands += earlier["commands"]
        wall += earlier["wall_time_s"]
    commands.append(command)
    result = {
        "commands": commands,
        "hardware": hardware(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_time_s": wall,
        "note": "wall time on a shared machine: an upper bound",
        "seeds": args.seeds,
        "grid": args.grid,
        "pool": pool,
        "validation": VALIDATION,
        "n_test": len(test),
        "Cs": args.Cs,
        "sweep_max": args.sweep_max,
        "max_iter": args.max_iter,
        "rows": list(rows.values()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({result['wall_time_s']:.0f} s)")


if __name__ == "__main__":
    main()
