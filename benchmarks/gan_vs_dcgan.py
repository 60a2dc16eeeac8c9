"""GAN versus DCGAN at a larger sample size: the table of notebooks/08_gan_vs_dcgan.

Scores the shipped comparison runs (checkpoints/compare/{mlp,dcgan}_s{1,2,3}.pt, the same
steps, data and recipe for both models) and the two long runs (mlp_fashion32.pt,
dcgan_fashion32.pt) against the Fashion-MNIST test split, and prints per-seed scores and
mean ± sample standard deviation per model. The chapter scores 1,000 samples to stay within
its time budget; FID is biased upwards at small n, so run this with n = 10,000 (a GPU makes
it quick) to see the same comparison with less bias and noise:

    python benchmarks/gan_vs_dcgan.py                    # n = 10000, classifier-fashion32
    python benchmarks/gan_vs_dcgan.py --n 2000 --device cpu
    python benchmarks/gan_vs_dcgan.py --extractor inception-v3   # where its weights can be had

Not run by the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    count_parameters,
    evaluate,
    feature_extractor,
    load_checkpoint,
    load_generator,
    manifest,
    pretrained,
)

MODELS = {"MLP": "mlp", "DCGAN": "dcgan"}
LONG = {"MLP": "mlp_fashion32.pt", "DCGAN": "dcgan_fashion32.pt"}


def collapsed(result: dict, min_modes: int, min_recall: float) -> bool:
    """The chapter's definition: too few classes hit, or too little of the data covered."""
    return result["modes_hit"] < min_modes or result["recall"] < min_recall


def mean_std(values) -> str:
    values = [float(v) for v in values]
    std = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.3f} ± {std:.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=10_000, help="generated (and real test) images per score"
    )
    parser.add_argument(
        "--extractor", default="classifier-fashion32", help="feature extractor for every score"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1, 2, 3], help="comparison runs to score"
    )
    parser.add_argument(
        "--sample_seed", "--sample-seed", type=int, default=0, help="seed of the generators' noise"
    )
    parser.add_argument(
        "--min_modes",
        "--min-modes",
        type=int,
        default=8,
        help="a run counts as collapsed with fewer classes hit than this...",
    )
    parser.add_argument(
        "--min_recall", "--min-recall", type=float, default=0.10, help="...or a lower recall"
    )
    parser.add_argument(
        "--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu, ..."
    )
    args = parser.parse_args(argv)

    entries = manifest()["checkpoints"]
    extractor = feature_extractor(args.extractor, args.device)
    t0 = time.perf_counter()

    def score(name):
        path = pretrained(name)
        state, G = load_checkpoint(path), load_generator(path)
        r = evaluate(
            G,
            "fashion-mnist",
            n=args.n,
            extractor=extractor,
            seed=args.sample_seed,
            n_train=0,
            device=args.device,
        )
        r["s_per_step"] = state["history"]["time"][-1] / state["step"]
        r["steps"], r["g_params"], r["hardware"] = (
            state["step"],
            count_parameters(G),
            entries[name]["hardware"],
        )
        return r

    runs = {}  # (model, seed) -> scores, seconds per step, parameters
    for model, stem in MODELS.items():
        for seed in args.seeds:
            runs[model, seed] = score(f"compare/{stem}_s{seed}.pt")
    for model, name in LONG.items():
        runs[model, "long"] = score(name)

    first = next(iter(runs.values()))
    print(
        f"FID, precision/recall (k={first['k_pr']}) and classes hit: {first['extractor']}, "
        f"n_real={first['n_real']}, n_fake={first['n_fake']}; "
        f"collapsed = classes hit < {args.min_modes} or recall < {args.min_recall}"
    )
    header = (
        f"{'model':<6} {'seed':>5} {'steps':>6} {'FID':>8} {'prec.':>6} {'recall':>6} "
        f"{'classes':>7} {'G params':>9} {'ms/step':>8} {'collapsed':>9}"
    )
    print(header)
    print("-" * len(header))
    for (model, seed), r in runs.items():
        print(
            f"{model:<6} {seed!s:>5} {r['steps']:>6} {r['fid']:>8.2f} {r['precision']:>6.3f} "
            f"{r['recall']:>6.3f} "
            f"{r['modes_hit']:>7} {r['g_params']:>9,} {1000 * r['s_per_step']:>8.1f} "
            f"{'yes' if collapsed(r, args.min_modes, args.min_recall) else 'no':>9}"
        )
    print()
    for model in MODELS:
        rs = [runs[model, s] for s in args.seeds]
        print(
            f"{model:<6} mean ± std over seeds {args.seeds}: "
            + ", ".join(
                f"{m} {mean_std(r[m] for r in rs)}"
                for m in ("fid", "precision", "recall", "modes_hit")
            )
            + f", collapsed {sum(collapsed(r, args.min_modes, args.min_recall) for r in rs)}"
            f" of {len(rs)}"
        )
    print(
        f"\nscored {len(runs)} generators in {time.perf_counter() - t0:.0f} s "
        f"(training hardware: {first['hardware']})"
    )


if __name__ == "__main__":
    main()
