"""How strong can the fully connected baseline of chapters 03 and 08 be made?

Chapter 08 compares the DCGAN with the original paper's kind of MLP GAN and says what that
comparison does not show: that no fully connected GAN could do better. This script trains
stronger MLPs on the same data, with the same optimiser, batch size and seeds as the
chapter's runs, and scores them like the chapter does (classifier-feature FID, precision,
recall, classes hit against the Fashion-MNIST test split):

* ``plain``: dcgan_lib's MLPGenerator/MLPDiscriminator with hidden (256, 256), as shipped;
* ``bn-G``: BatchNorm after each hidden layer of G (one of the DCGAN paper's guidelines);
* ``dropout-D``: dropout 0.3 after each hidden layer of D (the original GAN paper used dropout);
* ``bn-G + dropout-D`` with LeakyReLU in G: both, the usual "well-tuned MLP GAN" recipe;
* ``dcgan``: the chapter's DCGAN (width 32), for reference.

The variants are built here by swapping the ``net`` of the library's MLP modules, so that
they train with the library's trainer unchanged.

    python benchmarks/mlp_baselines.py                          # 1000 steps, seeds 1 2
    python benchmarks/mlp_baselines.py --steps 8000 --seeds 1 --models plain bn-G+dropout-D

Not run by the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    TrainConfig,
    Trainer,
    count_parameters,
    evaluate,
    feature_extractor,
    load_dataset,
)

SHAPE = (1, 32, 32)
LATENT = 100
HIDDEN = (256, 256)


def _generator(batchnorm: bool, activation) -> MLPGenerator:
    G = MLPGenerator(LATENT, SHAPE, HIDDEN)
    if batchnorm:
        layers, width = [], LATENT
        for h in HIDDEN:
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), activation()]
            width = h
        G.net = nn.Sequential(*layers, nn.Linear(width, 32 * 32), nn.Tanh())
    return G


def _discriminator(dropout: float) -> MLPDiscriminator:
    D = MLPDiscriminator(SHAPE, tuple(reversed(HIDDEN)))
    if dropout:
        layers, width = [], 32 * 32
        for h in reversed(HIDDEN):
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = h
        D.net = nn.Sequential(*layers, nn.Linear(width, 1))
    return D


MODELS = {
    "plain": lambda: (_generator(False, nn.ReLU), _discriminator(0.0)),
    "bn-G": lambda: (_generator(True, nn.ReLU), _discriminator(0.0)),
    "dropout-D": lambda: (_generator(False, nn.ReLU), _discriminator(0.3)),
    "bn-G+dropout-D": lambda: (_generator(True, lambda: nn.LeakyReLU(0.2)), _discriminator(0.3)),
    "dcgan": lambda: (Generator(LATENT, 32, 1, 32), Discriminator(32, 1, 32)),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=1000, help="generator steps per run (the chapter's runs: 1000)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--n", type=int, default=1000, help="generated (and real test) images per score"
    )
    parser.add_argument("--batch_size", "--batch-size", type=int, default=64)
    parser.add_argument(
        "--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu, ..."
    )
    args = parser.parse_args(argv)

    data = load_dataset("fashion-mnist", 32)
    extractor = feature_extractor("classifier-fashion32", args.device)
    rows = []
    for name in args.models:
        for seed in args.seeds:
            torch.manual_seed(seed)
            G, D = MODELS[name]()
            trainer = Trainer(
                G,
                D,
                data,
                TrainConfig(
                    steps=args.steps,
                    batch_size=args.batch_size,
                    seed=seed,
                    device=args.device,
                    progress=False,
                ),
            )
            t0 = time.perf_counter()
            trainer.fit()
            seconds = time.perf_counter() - t0
            r = evaluate(G, "fashion-mnist", n=args.n, extractor=extractor, seed=0)
            rows.append(
                dict(
                    model=name,
                    seed=seed,
                    seconds=seconds,
                    params=count_parameters(G) + count_parameters(D),
                    **{k: float(r[k]) for k in ("fid", "precision", "recall", "modes_hit")},
                )
            )
            print(
                f"{name:>15} seed {seed}: FID {r['fid']:7.2f}  precision {r['precision']:.3f}  "
                f"recall {r['recall']:.3f}  classes {r['modes_hit']:2d}  ({seconds:.0f} s)",
                flush=True,
            )

    print(
        f"\n{args.steps} steps, batch {args.batch_size}, classifier-fashion32, n={args.n}, "
        f"seeds {' '.join(map(str, args.seeds))}, on {trainer.device}"
    )
    print("| model | G + D parameters | FID | precision | recall | classes hit | s per run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in args.models:
        rs = [r for r in rows if r["model"] == name]
        mean = {
            k: statistics.mean(r[k] for r in rs)
            for k in ("fid", "precision", "recall", "modes_hit", "seconds")
        }
        print(
            f"| {name} | {rs[0]['params']:,} | {mean['fid']:.2f} | {mean['precision']:.3f} "
            f"| {mean['recall']:.3f} | {mean['modes_hit']:.1f} | {mean['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
