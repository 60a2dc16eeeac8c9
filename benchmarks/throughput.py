"""Training throughput: the same DCGAN and batch through five loops, in one run.

    (a) plain    a loop written like pytorch/examples' dcgan/main.py (benchmarks/plain_loop.py:
                 fp32 eager, DataLoader, Sigmoid + BCELoss)
    (b) fp32     dcgan_lib's Trainer, fp32 eager (no autocast, default memory format)
    (c) amp      the Trainer with mixed precision (bf16, or fp16 with a gradient scaler on
                 GPUs without bf16) and channels_last
    (d) compile  (c) with torch.compile (inductor, default mode)
    (e) graphs   (c) with torch.compile in "reduce-overhead" mode, which records CUDA graphs
                 (CUDA only)

For every (image size, width, batch) it prints images/s (the median of ``--repeats``
interleaved measurements), the ratio to (a), and the fraction
of the device's dense peak reached (``dcgan_lib.device.dense_peak_flops``; none is given for
CPUs). FLOPs per image are counted by the library (``dcgan_lib.tracing.count_flops``) over one
training step of each loop: G's forward, D's forwards on the real and the fake batch, the
backward passes of the D step and of the G step (through D into G; the plain loop also
computes D's weight gradients there, which the Trainer skips). The data are random
images in [-1, 1] (speed does not depend on what the pixels show), resident on the device
for the Trainer, streamed by the DataLoader for (a), as in pytorch/examples.

    python benchmarks/throughput.py                  # a CUDA GPU: 64x64x3, widths 64/128,
                                                     # batches 128/512, loops a-e
    python benchmarks/throughput.py --quick          # this CPU, about a minute: 32x32x1,
                                                     # width 32, batch 64, loops a-c
    python benchmarks/throughput.py --json benchmarks/results/throughput_h100.json

Speed is measured here, never by a timed test. The loops of one configuration run
interleaved, so that the ratios compare like with like on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from plain_loop import plain_loop
from run_record import write_json

from dcgan_lib import Discriminator, Generator, TrainConfig, Trainer
from dcgan_lib.device import cpu_has_amx_bf16, dense_peak_flops, hardware, resolve_device
from dcgan_lib.tracing import count_flops

LOOPS = {
    "a": "plain (pytorch/examples)",
    "b": "dcgan_lib fp32 eager",
    "c": "dcgan_lib amp + channels_last",
    "d": "dcgan_lib amp + compile",
    "e": "dcgan_lib amp + CUDA graphs",
}


def trainer_for(loop: str, data, width: int, batch: int, device, steps: int) -> Trainer:
    size, channels = data.shape[-1], data.shape[1]
    G, D = Generator(100, size, channels, width), Discriminator(size, channels, width)
    fast = loop in "cde"
    compile_ = {"d": True, "e": "reduce-overhead"}.get(loop, False)
    cfg = TrainConfig(
        steps=steps,
        batch_size=batch,
        device=str(device),
        amp=fast,
        channels_last=fast,
        compile=compile_,
        progress=False,
        sample_every=10**9,
        n_samples=8,
    )
    return Trainer(G, D, data, cfg)


def time_trainer(trainer: Trainer, warmup: int, steps: int) -> tuple[int, float]:
    """(timed steps, seconds) after ``warmup`` steps (compilation happens there)."""
    trainer.fit(steps=warmup)
    sync(trainer.device)
    t0 = time.perf_counter()
    trainer.fit(steps=warmup + steps)
    sync(trainer.device)
    return steps, time.perf_counter() - t0


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_step(data, width: int, batch: int, device) -> int:
    """FLOPs of one Trainer step (fp32 eager: the count does not depend on the precision)."""
    trainer = trainer_for("b", data, width, batch, device, steps=1)
    trainer.fit(steps=1)  # first step outside the counter: lazy set-up is not counted
    return count_flops(trainer.train_step)


def measure(args, size, width, batch, device) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    n = max(batch * 8, 1024)
    data = torch.rand(n, args.channels, size, size, generator=g) * 2 - 1
    flops = flops_per_step(data, width, batch, device)
    # the plain loop also computes D's weight gradients in G's step: more FLOPs per step
    plain_flops = count_flops(
        plain_loop, data[: 2 * batch], 1, None, seed=0, width=width, batch_size=batch,
        device=str(device),
    )  # fmt: skip
    rates: dict[str, list[float]] = {}
    meta: dict[str, tuple[str, int]] = {}
    loops = [loop for loop in args.loops if loop != "e" or device.type == "cuda"]
    for _ in range(args.repeats):  # interleaved: machine noise hits every loop alike
        for loop in loops:
            if loop == "a":
                _, steps, secs = plain_loop(
                    data, args.steps, None, seed=0, width=width, batch_size=batch,
                    device=str(device), warmup=args.warmup,
                )  # fmt: skip
                precision = "fp32"
            else:
                trainer = trainer_for(loop, data, width, batch, device, args.warmup + args.steps)
                warmup = args.warmup * (3 if loop in "de" else 1)
                steps, secs = time_trainer(trainer, warmup, args.steps)
                precision = trainer.precision
                trainer.close()
            rates.setdefault(loop, []).append(steps * batch / secs)
            meta[loop] = (precision, steps)
    rows = []
    for loop in loops:
        rate = statistics.median(rates[loop])
        precision, steps = meta[loop]
        peak = dense_peak_flops(device, precision)
        step_flops = plain_flops if loop == "a" else flops
        rows.append(
            dict(
                image_size=size, channels=args.channels, width=width, batch=batch,
                loop=loop, name=LOOPS[loop], precision=precision, steps=steps,
                repeats=args.repeats, images_per_s=round(rate, 1),
                images_per_s_all=[round(r, 1) for r in rates[loop]],
                flops_per_image=step_flops // batch,
                fraction_of_peak=None if peak is None else step_flops / batch * rate / peak,
            )
        )  # fmt: skip
        print(f"  {size}x{size}x{args.channels} w{width} b{batch} ({loop}) {rate:9.1f} img/s")
    base = next((r["images_per_s"] for r in rows if r["loop"] == "a"), None)
    for r in rows:
        r["ratio_to_plain"] = None if base is None else round(r["images_per_s"] / base, 2)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| image | width | batch | loop | precision | images/s | ratio to (a) | "
        "GFLOP/image | fraction of dense peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        frac = "n/a" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.1f}%"
        ratio = "n/a" if r["ratio_to_plain"] is None else f"{r['ratio_to_plain']:.2f}"
        lines.append(
            f"| {r['image_size']}x{r['image_size']}x{r['channels']} | {r['width']} | "
            f"{r['batch']} | ({r['loop']}) {r['name']} | {r['precision']} | "
            f"{r['images_per_s']:.1f} | {ratio} | {r['flops_per_image'] / 1e9:.3f} | {frac} |"
        )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="32x32x1, width 32, batch 64, loops a-c")
    p.add_argument("--device", default="auto")
    p.add_argument("--sizes", type=int, nargs="+", default=[64])
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--widths", type=int, nargs="+", default=[64, 128])
    p.add_argument("--batches", type=int, nargs="+", default=[128, 512])
    p.add_argument("--loops", default="abcde", help="which loops, e.g. abc")
    p.add_argument("--steps", type=int, default=50, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (x3 compiled)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats (median shown)")
    p.add_argument("--json", type=Path, help="also write the rows and the run's record here")
    args = p.parse_args(argv)
    if bad := set(args.loops) - set(LOOPS):
        p.error(f"unknown loop(s) {''.join(sorted(bad))}: choose from {''.join(LOOPS)}")
    if args.quick:
        args.sizes, args.channels, args.widths, args.batches = [32], 1, [32], [64]
        args.loops = args.loops.replace("d", "").replace("e", "")
        args.steps, args.warmup = 10, 2
    device = resolve_device(args.device)
    print(f"{hardware(device)}; torch {torch.__version__}")
    t0, rows = time.perf_counter(), []
    for size in args.sizes:
        for width in args.widths:
            for batch in args.batches:
                rows += measure(args, size, width, batch, device)
    print()
    print(table(rows))
    if args.json:
        record = dict(
            command="python benchmarks/throughput.py " + " ".join(sys.argv[1:] if argv is None
                                                                  else argv),
            hardware=hardware(device),
            device_type=device.type,
            torch=torch.__version__,
            python=platform.python_version(),
            date=datetime.date.today().isoformat(),
            wall_time_s=round(time.perf_counter() - t0, 1),
            cpu_threads=torch.get_num_threads(),
            cpu_amx_bf16=cpu_has_amx_bf16(),
            load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            rows=rows,
        )  # fmt: skip
        write_json(args.json, record)


if __name__ == "__main__":
    main()
