"""Chapter 08's fair race: the DCGAN against the strongest fully connected GAN found with the
same tuning budget.

Each family gets the same budget: three configurations (its shipped default, one change of
architecture and one of learning rate), each trained once on a tuning seed (0) for
``--tune-steps`` steps and scored. The best of each family (lowest FID; ties by recall) is
then trained on the comparison seeds (1, 2, 3) and scored at several points along the run,
with the wall seconds trained so far (scoring time excluded), so the chapter can plot score
against steps and against seconds:

* MLP (``dcgan_lib.MLPGenerator``/``MLPDiscriminator``): the chapter's plain pair (hidden
  256, 256: ReLU in G, no BatchNorm, no dropout); the common stronger recipe of BatchNorm and
  LeakyReLU in G and dropout 0.3 in D; that recipe at twice the learning rate (4e-4).
* DCGAN (``dcgan_lib.Generator``/``Discriminator``): the chapter's width 32 at the paper's
  learning rate 2e-4; width 24 (the size step goes down, not up, to fit the CPU budget: a
  width-48 run costs about twice a width-32 one); learning rate 4e-4.

(A first plan of four configurations each, with a wider MLP and a DCGAN at learning rate 1e-4,
was cut to three when the shared 2-core machine ran about four times slower than expected.)

A larger search, run later, added those two (``wide-lr4e-4``: the lr 4e-4 recipe at hidden
1024, 1024; ``lr1e-4`` for the DCGAN), trained every DCGAN configuration to the end, and gave
the MLPs, whose steps are cheap, a second round of more steps on the tuning seed (``--tune-phase
tune-seconds``, with ``deep``: the recipe at hidden 256, 512, 1024); its rows are in
``benchmarks/results/fair_baselines_search.json`` (commands there), with the wide MLP's final
runs (``--phase final-wide``).

Everything else is the chapter's recipe: Fashion-MNIST 32x32 (the whole training split),
batch 64, Adam with beta1 = 0.5, the non-saturating loss, latent size 100; scores are
``dcgan_lib.evaluate`` with classifier-fashion32 features, ``--n`` samples against as many
test images (FID, precision, recall, classes hit). One CPU thread. The final runs of each
family's best at the end of the tuning length are written as full checkpoints under
``--runs`` (``runs/fair_<family>_s<seed>/checkpoint.pt``; later points as
``checkpoint_<step>.pt``), for
``python -m dcgan_lib export ... --generator-only --half``.

Results are written after every run, so a stopped run keeps what it had, and a rerun with
``--reuse`` skips the rows already in the file. Processes run side by side each write a part
file; ``--merge`` adds the parts' rows (and commands) to ``--json``, keeping its rows.
``--phase`` names the rows of final runs (default ``final``), so a longer rerun of the same
configuration and seeds (``--mlp-points 2000 4000 8000 --phase final-long``, with its own
``--runs``) sits beside the first runs instead of replacing them.

    python benchmarks/fair_baselines.py --json benchmarks/results/fair_baselines.json
    python benchmarks/fair_baselines.py --json benchmarks/results/fair_baselines.json \
        --merge part_s1.json part_s2.json

Not run by the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch
from run_record import write_json

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
    hardware,
    load_dataset,
)

SHAPE, LATENT = (1, 32, 32), 100
STRONG = dict(batchnorm=True, activation="leaky", dropout=0.3)
# family -> configuration -> (what it changes, its settings); the first of each is the default
CONFIGS = {
    "mlp": {
        "plain": ("the chapter's MLP (the default)", dict(hidden=(256, 256))),
        "bn-dropout": (
            "BatchNorm + LeakyReLU in G, dropout 0.3 in D",
            dict(hidden=(256, 256), **STRONG),
        ),
        "bn-dropout-lr4e-4": (
            "BatchNorm + LeakyReLU + dropout at lr 4e-4",
            dict(hidden=(256, 256), lr=4e-4, **STRONG),
        ),
        "wide-lr4e-4": (
            "the lr 4e-4 recipe at hidden 1024, 1024 (four times the width)",
            dict(hidden=(1024, 1024), lr=4e-4, **STRONG),
        ),
        "deep": (
            "BatchNorm + LeakyReLU + dropout, hidden 256, 512, 1024 (G; D mirrored), lr 2e-4",
            dict(hidden=(256, 512, 1024), **STRONG),
        ),
    },
    "dcgan": {
        "default": ("the chapter's DCGAN (the default)", dict(width=32)),
        "width24": ("width 24", dict(width=24)),
        "lr4e-4": ("learning rate 4e-4", dict(width=32, lr=4e-4)),
        "lr1e-4": ("learning rate 1e-4", dict(width=32, lr=1e-4)),
    },
}


def build(family: str, settings: dict, seed: int):
    """A fresh (G, D) pair of one configuration; the initial weights follow ``seed``."""
    torch.manual_seed(seed)
    if family == "dcgan":
        w = settings["width"]
        return Generator(LATENT, 32, 1, w), Discriminator(32, 1, w)
    hidden = tuple(settings["hidden"])
    g_opts = {k: settings[k] for k in ("batchnorm", "activation") if k in settings}
    G = MLPGenerator(LATENT, SHAPE, hidden, **g_opts)
    D = MLPDiscriminator(SHAPE, hidden[::-1], dropout=settings.get("dropout", 0.0))
    return G, D


def score(G, extractor, n: int) -> dict:
    """The chapter's scores of one generator; the global random state is left as it was."""
    state = torch.get_rng_state()
    r = evaluate(G, "fashion-mnist", n=n, extractor=extractor, seed=0, n_train=0, device="cpu")
    torch.set_rng_state(state)
    return {k: float(r[k]) for k in ("fid", "precision", "recall", "modes_hit")}


def run(family, name, seed, points, data, extractor, args, save=None) -> dict:
    """Train one configuration on one seed, scoring at each step of ``points``."""
    what, settings = CONFIGS[family][name]
    G, D = build(family, settings, seed)
    lr = settings.get("lr", 2e-4)
    config = TrainConfig(
        steps=max(points),
        batch_size=args.batch_size,
        lr_g=lr,
        lr_d=lr,
        seed=seed,
        device="cpu",
        progress=False,
    )
    trainer = Trainer(G, D, data, config)
    curve = []
    for step in sorted(points):
        trainer.fit(step)  # the clock runs only inside fit: scoring is not timed
        curve.append(
            {"step": step, "seconds": round(trainer.elapsed, 2), **score(G, extractor, args.n)}
        )
        if save is not None and step >= save[0]:  # checkpoint.pt, checkpoint_2000.pt, ...
            path = save[2] if step == save[0] else save[2].with_name(f"checkpoint_{step}.pt")
            meta = {
                "command": save[1],
                "dataset": "fashion-mnist",
                "data_source": getattr(data, "source", None),
                "seed": seed,
                "hardware": hardware("cpu"),
                "torch": str(torch.__version__),
                "family": family,
                "configuration": name,
            }
            trainer.save(path, **meta, wall_time_s=trainer.elapsed)
        c = curve[-1]
        print(
            f"{family:>5} {name:>18} seed {seed} step {step:>5}: FID {c['fid']:7.2f}  "
            f"precision {c['precision']:.3f}  recall {c['recall']:.3f}  "
            f"classes {c['modes_hit']:2.0f}  ({c['seconds']:.0f} s)",
            flush=True,
        )
    return {
        "family": family,
        "config": name,
        "what": what,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "lr": lr,
        "seed": seed,
        "g_params": count_parameters(G),
        "d_params": count_parameters(D),
        "curve": curve,
        **curve[-1],
    }


def best(rows: list, family: str, phase: str = "tune") -> str:
    """The family's tuning winner: the lowest FID at the end of its tuning run, ties by recall."""
    tuned = [r for r in rows if r["family"] == family and r["phase"] == phase]
    if not tuned:
        return None
    return min(tuned, key=lambda r: (round(r["fid"], 2), -r["recall"]))["config"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--families", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--configs", nargs="+", help="tune only these configurations (default: all)")
    p.add_argument("--final-config", help="skip tuning: run the final seeds of this configuration")
    p.add_argument("--tune-only", action="store_true", help="stop after the tuning runs")
    p.add_argument("--tune-seed", type=int, default=0)
    p.add_argument("--tune-steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument(
        "--points", type=int, nargs="+", default=[250, 500, 1000], help="steps scored (all)"
    )
    p.add_argument(
        "--mlp-points",
        type=int,
        nargs="+",
        default=[2000],
        help="further steps scored for the MLP, whose steps are cheap (score against seconds)",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--n", type=int, default=1000, help="generated (and test) images per score")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where final checkpoints go")
    p.add_argument("--json", type=Path, help="write the rows and the run's record here")
    p.add_argument("--reuse", action="store_true", help="keep rows already in --json")
    p.add_argument("--phase", default="final", help="the name of the final runs' rows")
    p.add_argument("--tune-phase", default="tune", help="the name of the tuning runs' rows")
    p.add_argument(
        "--merge", type=Path, nargs="+", help="add these part files' rows to --json; train nothing"
    )
    return p


def key(row) -> tuple:
    return row["phase"], row["family"], row["config"], row["seed"]


def merge(target: Path, parts: list) -> None:
    """Add the rows of ``parts`` (files this script wrote) to ``target``, keeping its rows and
    its record; a part's row for a run already in ``target`` is an error, not a silent pick."""
    record = json.loads(target.read_text())
    seen = {key(r) for r in record["rows"]}
    commands = record.setdefault("commands", [record["command"]])
    for part in parts:
        other = json.loads(Path(part).read_text())
        for row in other["rows"]:
            if key(row) in seen:
                raise ValueError(f"{part}: {key(row)} is already in {target}; drop one of them")
            seen.add(key(row))
            record["rows"].append(row)
        commands.append(other["command"])
        record["wall_time_s"] = round(record["wall_time_s"] + other["wall_time_s"], 1)
    write_json(target, record)


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    if args.merge:
        if not args.json:
            raise ValueError("--merge needs --json, the file the parts are added to")
        return merge(args.json, args.merge)
    torch.set_num_threads(1)
    start = time.perf_counter()
    command = "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])])
    data = load_dataset("fashion-mnist", 32)
    extractor = feature_extractor("classifier-fashion32", "cpu")
    rows = []
    if args.reuse and args.json and args.json.exists():
        rows = json.loads(args.json.read_text())["rows"]
    earlier = sum(r.get("run_seconds", 0) for r in rows)

    def record() -> None:
        if not args.json:
            return
        fams = [f for f in CONFIGS if any(r["family"] == f for r in rows)]
        winners = {f: best(rows, f, args.tune_phase) for f in fams}
        write_json(
            args.json,
            {
                "command": command,
                "settings": {
                    k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                },
                "configurations": {
                    f: {n: {"what": w, "settings": s} for n, (w, s) in c.items()}
                    for f, c in CONFIGS.items()
                },
                "hardware": hardware("cpu"),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "wall_time_s": round(earlier + time.perf_counter() - start, 1),
                "extractor": extractor.name,
                "best": winners,
                "rows": rows,
            },
        )

    def done(phase, family, name, seed) -> bool:
        return any(key(r) == (phase, family, name, seed) for r in rows)

    def add(phase, family, name, seed, points, save=None) -> None:
        if done(phase, family, name, seed):
            return
        t0 = time.perf_counter()
        row = run(family, name, seed, points, data, extractor, args, save)
        rows.append({"phase": phase, **row, "run_seconds": round(time.perf_counter() - t0, 1)})
        record()

    tune_points = [p for p in args.points if p <= args.tune_steps]
    for family in args.families if not args.final_config else []:
        for name in CONFIGS[family]:
            if not args.configs or name in args.configs:
                add(args.tune_phase, family, name, args.tune_seed, tune_points)
    for family in args.families if not args.tune_only else []:
        chosen = args.final_config or best(rows, family, args.tune_phase)
        points = args.points + (args.mlp_points if family == "mlp" else [])
        for seed in args.seeds:
            path = args.runs / f"fair_{family}_s{seed}" / "checkpoint.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            add(args.phase, family, chosen, seed, points, save=(args.tune_steps, command, path))
    record()
    print("best:", {f: best(rows, f, args.tune_phase) for f in args.families})


if __name__ == "__main__":
    main()
