"""Training speed on the CPU: fp32 against bf16 autocast, with and without channels_last.

The library trainer (``Trainer.train_step`` on random images in [-1, 1]) at two scales,
32x32x1 and 64x64x3, width 32 (what a reader trains on a CPU). Each setting takes
``--warmup`` untimed steps, then ``--repeats`` timed repeats, the settings interleaved so
that machine noise hits them alike; a repeat runs ``--steps`` steps or stops after the
step that passes ``--seconds`` (a CPU without bf16 units runs bf16 many times slower, and
the whole run should stay within a few minutes). The table gives the median steps/s, the
spread (min to max) and the speed-up over fp32.

    python benchmarks/cpu_precision.py --batch-size 64 --steps 10 --seconds 2 --repeats 3

The result decides the CPU default of ``TrainConfig.amp`` (None: fp32 on a CPU);
ARCHITECTURE.md records a run and the decision.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dcgan_lib import Discriminator, Generator, TrainConfig, Trainer, hardware, table

SETTINGS = {  # name: (amp, channels_last)
    "fp32": (False, False),
    "bf16": (True, False),
    "bf16 + channels_last": (True, True),
}
SCALES = {"32x32x1": (32, 1), "64x64x3": (64, 3)}


def make_trainer(size, channels, width, batch_size, amp: bool, channels_last: bool):
    torch.manual_seed(0)
    G, D = Generator(100, size, channels, width), Discriminator(size, channels, width)
    data = torch.rand(4 * batch_size, channels, size, size) * 2 - 1
    cfg = TrainConfig(
        batch_size=batch_size, device="cpu", amp=amp, channels_last=channels_last, progress=False
    )
    return Trainer(G, D, data, cfg)


def steps_per_second(trainer: Trainer, steps: int, seconds: float) -> float:
    t0, done = time.perf_counter(), 0
    while done < steps and (done == 0 or time.perf_counter() - t0 < seconds):
        trainer.train_step()
        trainer.flush()  # the statistics' host sync is part of the cost
        done += 1
    return done / (time.perf_counter() - t0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10, help="most timed steps per repeat")
    p.add_argument("--seconds", type=float, default=2.0, help="a repeat ends past this")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per setting")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    rows = []
    for scale, (size, channels) in SCALES.items():
        trainers = {
            name: make_trainer(size, channels, args.width, args.batch_size, *flags)
            for name, flags in SETTINGS.items()
        }
        for trainer in trainers.values():
            for _ in range(args.warmup):
                trainer.train_step()
            trainer.flush()
        speeds = {name: [] for name in SETTINGS}
        for _ in range(args.repeats):
            for name, trainer in trainers.items():
                speeds[name].append(steps_per_second(trainer, args.steps, args.seconds))
        base = statistics.median(speeds["fp32"])
        for name, s in speeds.items():
            median = statistics.median(s)
            rows.append(
                {
                    "scale": f"{scale}, width {args.width}",
                    "setting": name,
                    "median": median,
                    "spread": f"{min(s):.2f}-{max(s):.2f}",
                    "speedup": median / base,
                }
            )
    print(
        f"{hardware('cpu')}; torch {torch.__version__}; batch {args.batch_size}; "
        f"{args.repeats} repeats of up to {args.steps} steps or {args.seconds:g} s; "
        f"{time.perf_counter() - t_start:.0f} s in all\n"
    )
    print(
        table(
            rows,
            [
                "scale",
                "setting",
                ("median", "steps/s (median)", ".2f"),
                ("spread", "min-max"),
                ("speedup", "vs fp32", ".2f"),
            ],
        )
    )


if __name__ == "__main__":
    main()
