"""The stabilisers after DCGAN, each against the plain DCGAN: the stabilisers chapter's table.

Every variant trains the book's ``Generator``/``Discriminator`` (width ``--width``, latent
size 100) on Fashion-MNIST at 32x32 (the first ``--limit`` training images) with the
library's trainer, batch 64, ``--steps`` generator steps, and changes one thing:

* ``plain``: the DCGAN as the book trains it (the non-saturating loss).
* ``spectral_norm``: ``SNDiscriminator`` in place of D (Miyato et al. 2018: spectral
  normalisation on every convolution, no BatchNorm); G is the same network, same weights.
* ``hinge``: ``TrainConfig(loss="hinge")``, D's and G's hinge losses (Lim & Ye 2017; the
  loss of SNGAN, Miyato et al. 2018).
* ``r1``: ``TrainConfig(r1_gamma=10)``, (gamma/2) E||grad_x D(x)||^2 on real data
  (Mescheder et al. 2018). gamma = 10 is the value of the authors' own runs: every
  configuration of their code (``reg_type: real``, ``reg_param: 10.``: CelebA-HQ, the LSUN
  categories, ImageNet, all ResNets, not a DCGAN) uses it, with decay-0.999 weight
  averaging beside it. It was not tuned for this network, so the table shows the penalty as
  it is usually switched on, not at its best.
* ``ema``: ``TrainConfig(ema_decay=0.999)``, a moving average of G's weights (Yazici et
  al. 2019; decay 0.999 as in ProGAN, Karras et al. 2018, and Mescheder et al.'s code). The
  row is scored on ``trainer.G_ema``; the same row keeps the raw G's scores under ``"raw"``
  (the same training run, so the two differ by the averaging alone).
* ``ttur``: the two time-scale update rule (Heusel et al. 2017: D and G each with its own
  learning rate) with the rates of SAGAN (Zhang et al. 2019): lr_d = 4e-4, lr_g = 1e-4, a
  ratio of 4:1 whose geometric mean is the paper setting's 2e-4. Only the rates are SAGAN's:
  its Adam betas (0, 0.9) are not taken, each setting keeps its own beta1.

Each variant runs under the settings (``--settings``) where the plain DCGAN is at home and
where it fails or struggles:

* ``paper``: Radford et al.'s Adam, lr 2e-4 for both players, beta1 0.5;
* ``lr1e-3``: both learning rates 1e-3 (Adam's suggested rate, which Radford et al. found
  "too high"), beta1 0.5; for ``ttur`` the 4:1 ratio is kept around 1e-3: lr_d = 2e-3,
  lr_g = 5e-4 (geometric mean 1e-3);
* ``beta0.9``: lr 2e-4, beta1 0.9 (which "resulted in training oscillation and
  instability" in Radford et al.); ``ttur`` keeps 4e-4 and 1e-4.

A row per (variant, setting, seed): the learning rates and beta1 used, the seconds trained
(scoring excluded), steps done, ``diverged`` (the ``NonFiniteLossError`` that stopped the
run, else null; a diverged run is not scored: FID null, precision, recall and classes 0),
FID, precision, recall and classes hit (``dcgan_lib.evaluate``, classifier-fashion32
features, ``--n`` samples against as many test images), the pixel spread of those samples,
and chapter 08's collapse flag (classes hit < ``--min-modes`` or recall < ``--min-recall``)
with its inputs. Each row keeps the mean D loss and D(G(z)) of its first ``--check-steps``
steps, which the chapter reruns live. One CPU thread per run, so a rerun on the same machine
gives the same numbers. The JSON is rewritten after every run (a stopped run keeps its rows).
``--export DIR`` (``checkpoints/stabilisers`` when given without a folder) writes each
seed-1 generator, float16, generator only, as ``<variant>_<setting>_s1.pt`` (for ``ema``
the moving average, and the raw G as ``ema_raw_<setting>_s1.pt``).

Cost, measured on the shared 2-core CPU (one thread, ``nice -n 10``, load average 6-12 from
other jobs; 20- and 40-step runs, seconds per step from the trainer's history, set-up left
out; the lowest of the repeats): ``plain`` 0.067 s a step, ``hinge`` 0.06-0.07,
``ttur`` 0.085 (the same work as ``plain``: the difference is the machine's noise),
``spectral_norm`` 0.083, ``ema`` 0.07-0.10, ``r1`` 0.16 (its double backward, about 2.3 times
``plain``); on a busier moment the same runs took up to twice as long. Scoring n = 1000 takes
about 2 s a generator (3 s for ``ema``'s two). The full table, 6 variants x 3 settings x 3 seeds
= 54 runs of 1000 steps, is then about 4,800 s of training (80 minutes of one core) plus about
2 minutes of scoring: split as below, about 45 minutes wall for the larger part when the
machine is as loaded as it was, up to about 90 when busier. ``r1`` is the dearest variant, so
it goes with ``ema`` (0.24 s a step of both together) against the other four (0.30):

    nice -n 10 python benchmarks/stabilisers.py --variants plain spectral_norm hinge ttur \\
        --export --json benchmarks/results/stabilisers_part1.json
    nice -n 10 python benchmarks/stabilisers.py --variants r1 ema \\
        --export --json benchmarks/results/stabilisers_part2.json
    python benchmarks/stabilisers.py --merge benchmarks/results/stabilisers_part1.json \\
        benchmarks/results/stabilisers_part2.json --json benchmarks/results/stabilisers.json

(the two first in two shells at once; ``--export`` alone writes to checkpoints/stabilisers/).

Not run by the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from run_record import write_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    Generator,
    NonFiniteLossError,
    SNDiscriminator,
    TrainConfig,
    Trainer,
    evaluate,
    export_checkpoint,
    feature_extractor,
    hardware,
    load_dataset,
    make_pair,
    pixel_spread,
    sample_generator,
)

LATENT, SIZE, CHANNELS = 100, 32, 1
R1_GAMMA = 10.0  # Mescheder et al. (2018): their experiments' value
EMA_DECAY = 0.999  # ProGAN's and Mescheder et al.'s decay
TTUR_RATIO = 4.0  # SAGAN: lr_d / lr_g = 4e-4 / 1e-4

# variant -> TrainConfig options it changes (``ttur`` changes the learning rates: rates())
VARIANTS = {
    "plain": {},
    "spectral_norm": {},  # the discriminator: models()
    "hinge": {"loss": "hinge"},
    "r1": {"r1_gamma": R1_GAMMA},
    "ema": {"ema_decay": EMA_DECAY},
    "ttur": {},
}
# setting -> (learning rate of both players, beta1); ttur: the rate is the geometric mean
SETTINGS = {"paper": (2e-4, 0.5), "lr1e-3": (1e-3, 0.5), "beta0.9": (2e-4, 0.9)}
SCORES = ("fid", "precision", "recall", "modes_hit")


def rates(variant: str, setting: str) -> tuple[float, float, float]:
    """(lr_g, lr_d, beta1) of ``variant`` under ``setting``: TTUR keeps its 4:1 ratio around
    the setting's rate (4e-4 and 1e-4 around 2e-4; 2e-3 and 5e-4 around 1e-3)."""
    lr, beta1 = SETTINGS[setting]
    if variant == "ttur":
        return lr / TTUR_RATIO**0.5, lr * TTUR_RATIO**0.5, beta1
    return lr, lr, beta1


def models(variant: str, width: int, seed: int):
    """G and D with the seed's initial weights: the same G (and D's kernels) in every variant."""
    if variant != "spectral_norm":
        return make_pair("dcgan", (CHANNELS, SIZE, SIZE), LATENT, width, seed=seed)
    torch.manual_seed(seed)  # as make_pair: G first, then D
    return Generator(LATENT, SIZE, CHANNELS, width), SNDiscriminator(SIZE, CHANNELS, width)


def collapsed(scores: dict, args) -> bool:
    """Chapter 08's definition: too few classes hit, or too little of the data covered."""
    return scores["modes_hit"] < args.min_modes or scores["recall"] < args.min_recall


def score(G, args, extractor) -> dict:
    """FID, precision, recall, classes hit, pixel spread and the collapse flag of ``G``."""
    r = evaluate(G, "fashion-mnist", n=args.n, extractor=extractor, seed=0, n_train=0)
    out = {k: float(r[k]) for k in SCORES}
    out["pixel_spread"] = pixel_spread(sample_generator(G, args.n, seed=0))
    out["collapsed"] = collapsed(out, args)
    return out


def run(variant, setting, seed, data, args, extractor) -> dict:
    """One training run of ``variant`` under ``setting``: its row."""
    G, D = models(variant, args.width, seed)
    lr_g, lr_d, beta1 = rates(variant, setting)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr_g=lr_g,
        lr_d=lr_d,
        beta1=beta1,
        seed=seed,
        device="cpu",
        sample_every=args.sample_every,
        progress=False,
        **VARIANTS[variant],
    )
    t0 = time.perf_counter()
    trainer = Trainer(G, D, data, config)
    try:
        history = trainer.fit()
        diverged = None
    except NonFiniteLossError as e:  # a diverged run is a result, not a crash
        history, diverged = trainer.history, str(e)
    row = {"variant": variant, "setting": setting, "seed": seed}
    row.update(lr_g=lr_g, lr_d=lr_d, beta1=beta1, seconds=time.perf_counter() - t0)
    row["steps_done"], row["diverged"] = trainer.step, diverged
    t = history.time  # seconds trained at each step: set-up and the first step left out
    row["s_per_step"] = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else None
    first = min(args.check_steps, len(history.loss_d))
    row["check"] = {
        "steps": first,
        "loss_d": sum(history.loss_d[:first]) / first if first else None,
        "d_fake": sum(history.d_fake[:first]) / first if first else None,
    }
    nothing = dict(fid=None, precision=0.0, recall=0.0, modes_hit=0.0, pixel_spread=None)
    if diverged:  # its weights may not be finite: nothing to score
        row.update(nothing, collapsed=True)
        if variant == "ema":
            row["raw"] = {**nothing, "collapsed": True}
        return row
    t1 = time.perf_counter()
    if variant == "ema":  # scored on the moving average; the raw G of the same run beside it
        row.update(score(trainer.G_ema, args, extractor), scored="G_ema")
        row["raw"] = score(G, args, extractor)
    else:
        row.update(score(G, args, extractor), scored="G")
    row["score_seconds"] = time.perf_counter() - t1
    if seed == 1 and args.export:
        export(trainer, variant, setting, args.export, args.limit)
    return row


def export(trainer, variant: str, setting: str, folder: Path, limit: int) -> None:
    """The seed-1 generator(s), float16 and generator only, for the chapter's grids."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "run.pt"
        meta = dict(dataset="fashion-mnist", image_size=SIZE, limit=limit, seed=1)
        trainer.save(src, stabiliser=variant, setting=setting, **meta)
        if variant == "ema":
            export_checkpoint(src, folder / f"ema_{setting}_s1.pt", True, True, ema=True)
            export_checkpoint(src, folder / f"ema_raw_{setting}_s1.pt", True, True)
        else:
            export_checkpoint(src, folder / f"{variant}_{setting}_s1.pt", True, True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--steps", type=int, default=1000, help="generator steps per run")
    p.add_argument("--width", type=int, default=16, help="ngf = ndf of the DCGAN pair")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=10_000, help="training images to load")
    p.add_argument("--sample-every", type=int, default=50, help="steps between fixed-noise grids")
    p.add_argument("--n", type=int, default=1000, help="generated (and test) images per score")
    p.add_argument("--check-steps", type=int, default=60, help="steps a live rerun checks")
    p.add_argument("--min-modes", type=int, default=8, help="collapsed: fewer classes hit...")
    p.add_argument("--min-recall", type=float, default=0.10, help="...or a lower recall")
    p.add_argument(
        "--export",
        type=Path,
        nargs="?",
        const=Path("checkpoints/stabilisers"),
        help="folder for the seed-1 generators (none written without this flag)",
    )
    p.add_argument("--json", type=Path, help="write the rows and the run's record here")
    p.add_argument("--merge", type=Path, nargs="+", help="merge these result files into --json")
    return p


KEEP = (
    "steps",
    "width",
    "batch_size",
    "limit",
    "sample_every",
    "n",
    "check_steps",
    "min_modes",
    "min_recall",
)


def merge(paths, out: Path | None) -> None:
    """One record from several part files of the same settings (the rows concatenated)."""
    if out is None:
        raise SystemExit("--merge needs --json, the file to write the merged record to")
    parts = [json.loads(Path(p).read_text()) for p in paths]
    for path, p in zip(paths[1:], parts[1:]):
        differ = [k for k in KEEP if p["settings"][k] != parts[0]["settings"][k]]
        if differ:
            raise SystemExit(f"{paths[0]} and {path} differ in {', '.join(differ)}; not merged")
    rows = [r for p in parts for r in p["rows"]]
    keys = [(r["variant"], r["setting"], r["seed"]) for r in rows]
    if twice := sorted({k for k in keys if keys.count(k) > 1}):
        raise SystemExit(f"the parts hold the same runs twice, e.g. {twice[0]}; not merged")
    drop = ("rows", "command", "wall_time_s")
    record = {k: v for k, v in parts[0].items() if k not in drop}
    record["settings"] = {**parts[0]["settings"], "variants": [], "settings": [], "seeds": []}
    for p in parts:
        for k in ("variants", "settings", "seeds"):
            new = [v for v in p["settings"][k] if v not in record["settings"][k]]
            record["settings"][k] += new
    for k in ("variants", "learning_rates"):  # each part's own, together
        record[k] = {name: v for p in parts for name, v in p[k].items()}
    record["commands"] = [p["command"] for p in parts]
    record["wall_time_s"] = [p["wall_time_s"] for p in parts]
    record["rows"] = rows
    write_json(out, record)


def line(r: dict) -> str:
    """A printed line of one row."""
    head = f"{r['variant']:>13} {r['setting']:>7} seed {r['seed']}: "
    if r["diverged"]:
        return head + f"diverged at step {r['steps_done']}  ({r['seconds']:.0f} s)"
    text = (
        f"FID {r['fid']:7.2f}  precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
        f"classes {r['modes_hit']:2.0f}  collapsed {'yes' if r['collapsed'] else 'no '}"
    )
    if "raw" in r:
        text += f"  (raw G: FID {r['raw']['fid']:7.2f}, recall {r['raw']['recall']:.3f})"
    return head + text + f"  ({r['seconds']:.1f} s, {r['s_per_step']:.3f} s/step)"


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    if args.merge:
        return merge(args.merge, args.json)
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = load_dataset("fashion-mnist", SIZE, limit=args.limit)
    extractor = feature_extractor("classifier-fashion32", "cpu")
    record = {
        "command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "variants": {v: VARIANTS[v] for v in args.variants},
        "learning_rates": {
            f"{v} {s}": dict(zip(("lr_g", "lr_d", "beta1"), rates(v, s)))
            for v in args.variants
            for s in args.settings
        },
        "collapsed": f"classes hit < {args.min_modes} or recall < {args.min_recall}",
        "hardware": hardware("cpu"),
        "load_average": os.getloadavg()[0],  # a shared machine: how busy it was at the start
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "extractor": extractor.name,
        "rows": [],
    }
    for variant in args.variants:
        for setting in args.settings:
            for seed in args.seeds:
                row = run(variant, setting, seed, data, args, extractor)
                record["rows"].append(row)
                print(line(row), flush=True)
                if args.json:  # after every run: a stopped benchmark keeps what it had
                    record["wall_time_s"] = round(time.perf_counter() - start, 1)
                    write_json(args.json, record)


if __name__ == "__main__":
    main()
