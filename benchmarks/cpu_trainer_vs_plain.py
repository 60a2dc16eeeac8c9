"""The library trainer against a plain eager loop in the style of pytorch/examples/dcgan.

Both train the same DCGAN (dcgan_lib's Generator/Discriminator, width 32, 32x32
Fashion-MNIST, batch 64, Adam 2e-4 / 0.5) on the same machine in one run:

* speed: steps per second over ``--steps`` steps, the two loops interleaved ``--repeats``
  times so that machine noise hits both alike; the table gives the ratio;
* quality at equal time: each loop trains for ``--seconds`` of wall time, then the
  Frechet distance of ``--n`` samples to the test split is computed on the features of
  the project's Fashion-MNIST classifier (an extractor independent of both loops).

    python benchmarks/cpu_trainer_vs_plain.py --steps 200 --repeats 3 --seconds 120

The plain loop (benchmarks/plain_loop.py) keeps pytorch/examples' structure: a DataLoader
over the images, a Sigmoid discriminator with BCELoss, D updated on a real then a fake
batch, G on the same fakes, no history, no progress bar.
"""

from __future__ import annotations

import argparse
import time

import torch
from plain_loop import plain_loop

from dcgan_lib import Discriminator, Generator, TrainConfig, Trainer, load_dataset


def library_loop(data, steps, seconds, seed):
    G, D = Generator(100, 32, 1, 32), Discriminator(32, 1, 32)
    cfg = TrainConfig(
        steps=steps or 10**9,
        batch_size=64,
        seed=seed,
        device="cpu",
        time_limit=seconds,
        progress=False,
        sample_every=10**9,
    )
    t = Trainer(G, D, data, cfg)
    t0 = time.perf_counter()
    t.fit()
    return G, t.step, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200, help="steps per speed measurement")
    p.add_argument(
        "--repeats", type=int, default=3, help="interleaved repeats of the speed measurement"
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=120,
        help="wall time per loop for the quality comparison (0: skip)",
    )
    p.add_argument("--n", type=int, default=2000, help="samples for the Frechet distance")
    args = p.parse_args()
    data = load_dataset("fashion-mnist", image_size=32).x
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data {tuple(data.shape)}")

    rates = {"plain pytorch/examples loop": [], "dcgan_lib Trainer": []}
    for r in range(args.repeats):
        for name, fn in (
            ("plain pytorch/examples loop", plain_loop),
            ("dcgan_lib Trainer", library_loop),
        ):
            _, steps, secs = fn(data, args.steps, None, seed=r)
            rates[name].append(steps / secs)
    print(f"\n| loop | steps/s (median of {args.repeats:d}) | ratio to plain |")
    print("|---|---|---|")
    base = sorted(rates["plain pytorch/examples loop"])[args.repeats // 2]
    for name, v in rates.items():
        med = sorted(v)[args.repeats // 2]
        print(f"| {name} | {med:.2f} | {med / base:.2f} |")

    if args.seconds > 0:
        from dcgan_lib.metrics import feature_extractor, fid_from_features

        extractor = feature_extractor("classifier-fashion32")
        test = load_dataset("fashion-mnist", image_size=32, split="test").x[: args.n]
        with torch.no_grad():
            real_f = extractor(test)
        print(
            f"\nquality at equal wall time ({args.seconds:.0f} s each); Frechet distance on "
            f"{extractor.name} features, n_real={len(test)}, n_fake={args.n}"
        )
        print("| loop | steps | FID |")
        print("|---|---|---|")
        for name, fn in (
            ("plain pytorch/examples loop", plain_loop),
            ("dcgan_lib Trainer", library_loop),
        ):
            G, steps, _ = fn(data, None, args.seconds, seed=0)
            G.eval()
            with torch.no_grad():
                fake_f = extractor(G(torch.randn(args.n, 100)))
            print(f"| {name} | {steps} | {fid_from_features(real_f, fake_f):.2f} |")


if __name__ == "__main__":
    main()
