"""The settings table of chapter 02 (notebooks/02_gan_2d), over several seeds.

Each setting changes one knob of the chapter's baseline on the ring of 8 Gaussians (the
chapter's networks: MLPs with hidden (128, 128, 128), latent_dim 2, Adam at 1e-3 with
beta1 = 0.5, batch 128, one D step per G step) and trains it for ``--steps`` generator
steps with each seed. Every ``--sample-every`` steps it scores the trainer's fixed noise
batch with ``toy_mode_coverage`` and keeps the number of samples each mode received, so
the chapter can average the last snapshots, give each setting's mean and spread over the
seeds, and show which modes a run covers as training goes on. The networks are tiny, so
one CPU thread is the fastest way to train them (as in the chapter).

    python benchmarks/toy_settings.py                    # writes benchmarks/toy_settings.json
    python benchmarks/toy_settings.py --seeds 0 1 2 3 4 --steps 3000 --out other.json

Not run by the tests; the chapter reads the JSON it writes and re-runs one row live.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import hardware, load_dataset, make_pair, toy_mixture, toy_mode_coverage, train  # noqa: E402

LR = 1e-3
BASELINE = dict(batch_size=128, lr_g=LR, lr_d=LR, d_steps=1)
SETTINGS = {  # name -> the changes to the baseline
    "baseline": {},
    "both learning rates ×10": dict(lr_g=10 * LR, lr_d=10 * LR),
    "both learning rates ×0.1": dict(lr_g=LR / 10, lr_d=LR / 10),
    "lr_g ×10 (G faster)": dict(lr_g=10 * LR),
    "lr_d ×10 (D faster)": dict(lr_d=10 * LR),
    "d_steps = 3": dict(d_steps=3),
    "batch_size = 32": dict(batch_size=32),
}
HIDDEN, LATENT, N_SAMPLES, KEEP_POINTS = (128, 128, 128), 2, 1000, 400


def run(setting: str, seed: int, steps: int, sample_every: int, ring, centres, std) -> dict:
    """One run of one setting: coverage of every snapshot, and its wall time."""
    config = {**BASELINE, **SETTINGS[setting]}
    G, D = make_pair("mlp", (2,), LATENT, hidden=HIDDEN, seed=seed)
    history = train(
        G,
        D,
        ring,
        steps=steps,
        n_samples=N_SAMPLES,
        sample_every=sample_every,
        log_every=50,
        seed=seed,
        device="cpu",
        progress=False,
        **config,
    )
    cover = [toy_mode_coverage(s, centres, std) for s in history.samples]
    return dict(
        setting=setting,
        seed=seed,
        config=config,
        seconds=round(history.time[-1], 2),
        sample_steps=list(history.sample_steps),
        counts=[c["counts"].tolist() for c in cover],  # high-quality samples per mode
        high_quality=[round(c["high_quality"], 4) for c in cover],
        # the first KEEP_POINTS points of the last snapshot, for the chapter's figure
        last_points=[[round(v, 3) for v in p] for p in history.samples[-1][:KEEP_POINTS].tolist()],
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds per setting")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per run")
    parser.add_argument("--sample-every", type=int, default=50, help="steps between snapshots")
    parser.add_argument(
        "--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS), help="rows"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "toy_settings.json",
        help="the JSON file to write",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as the chapter does: networks this small run fastest on one
    ring = load_dataset("ring")
    centres, std = toy_mixture("ring")
    start, runs = time.perf_counter(), []
    for setting in args.settings:
        for seed in args.seeds:
            r = run(setting, seed, args.steps, args.sample_every, ring, centres, std)
            runs.append(r)
            modes = [sum(c > 0 for c in counts) for counts in r["counts"][-5:]]
            print(f"{setting:>26} seed {seed}: modes {modes}, {r['seconds']:.1f} s", flush=True)
    result = dict(
        command="python " + shlex.join(["benchmarks/toy_settings.py", *sys.argv[1:]]),
        hardware=hardware("cpu"),
        python=platform.python_version(),
        torch=torch.__version__,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        wall_time_s=round(time.perf_counter() - start, 1),
        steps=args.steps,
        sample_every=args.sample_every,
        seeds=args.seeds,
        n_samples=N_SAMPLES,
        hidden=list(HIDDEN),
        latent_dim=LATENT,
        runs=runs,
    )
    args.out.write_text(json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({result['wall_time_s']:.0f} s)")


if __name__ == "__main__":
    main()
