"""The command line: ``python -m dcgan_lib train|sample|export|evaluate|train-classifier``.

A thin wrapper: it parses flags, calls the library, and turns the library's errors into
a one-line message and a non-zero exit status (no traceback). The ``train`` flags are
derived from :class:`~dcgan_lib.train.TrainConfig`, so each default is written once, in
the config; the command line changes two of them for a CPU (``--steps`` per dataset and
``--batch-size 64``), and says so in ``--help``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import torch

from .checkpoint import (
    CheckpointError,
    export_checkpoint,
    load_checkpoint,
    load_generator,
    manifest_entry,
    pack_model,
    record_in_manifest,
    save_checkpoint,
)
from .data import load_dataset
from .device import hardware, resolve_device
from .evaluation import evaluate, format_results
from .features import default_extractor, feature_extractor, train_classifier
from .models import MODEL_KINDS, make_pair, sample_generator
from .train import CheckpointEvery, NonFiniteLossError, TrainConfig, Trainer
from .viz import save_grid

__all__ = ["build_parser", "main", "DEFAULT_STEPS", "CLI_DEFAULTS"]

# What the command line changes of TrainConfig's defaults (the paper's), to train in a
# minute or two on 2 CPU cores; raise them on a GPU.
DEFAULT_STEPS = {"digits": 4000, "fashion-mnist": 2500, "mnist": 2500}
CLI_DEFAULTS = {"steps": 2000, "batch_size": 64}

# help for every TrainConfig field the command line offers (tests check none is missing)
TRAIN_HELP = {
    "steps": f"generator updates (default per dataset: {DEFAULT_STEPS}, else 2000)",
    "batch_size": "batch size (TrainConfig and the paper: 128)",
    "lr_g": "generator learning rate",
    "lr_d": "discriminator learning rate",
    "beta1": "Adam beta1 (the paper: 0.5; 0.9 oscillates)",
    "beta2": "Adam beta2",
    "d_steps": "discriminator updates per generator update",
    "loss": "generator loss: non_saturating or saturating (minimax)",
    "seed": "random seed (data order, noise and initial weights)",
    "device": "auto (cuda, then mps, then cpu), cuda, cuda:N, cpu, mps",
    "amp": "bf16 autocast (default: on CUDA GPUs that support bf16)",
    "channels_last": "channels_last memory format (default: on CUDA)",
    "compile": "wrap both models in torch.compile",
    "sample_every": "steps between fixed-noise grids (0: ten per run)",
    "n_samples": "size of the fixed noise batch",
    "log_every": "steps between host syncs of the statistics (0: 1 on CPU, 50 on GPU)",
    "time_limit": "stop after this many seconds",
    "progress": "show a progress bar",
    "num_workers": "DataLoader workers for streamed datasets (default: up to 8)",
}
CHOICES = {"loss": ("non_saturating", "saturating")}


def _flag(name: str) -> list[str]:
    return [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])


def _add_config_flags(group, exclude=()) -> None:
    """One flag per TrainConfig field, its type and default read from the dataclass."""
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name in exclude:
            continue
        default = CLI_DEFAULTS.get(f.name, f.default if f.default is not MISSING else None)
        kind = hints[f.name]
        kwargs = {"default": default, "help": TRAIN_HELP[f.name]}
        if f.name == "compile":
            kwargs.update(action="store_true", default=False)
        elif kind in (bool, bool | None):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            base = next(t for t in typing.get_args(kind) or (kind,) if t is not type(None))
            kwargs.update(type=base, choices=CHOICES.get(f.name))
        if f.name == "steps":
            kwargs["default"] = None
        group.add_argument(*_flag(f.name), dest=f.name, **kwargs)


def _train_config(args) -> dict:
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig)}


# -- train ------------------------------------------------------------------------------


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a GAN and write a checkpoint and a sample grid",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="digits", help="dataset name (digits, fashion-mnist, "
                   "mnist, cifar10, celeba, folder, ring, grid)")
    d.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset")
    d.add_argument("--image_size", "--image-size", type=int, default=None,
                   help="image side in pixels, a power of two from 16 to 256 "
                   "(default: the dataset's own)")
    d.add_argument("--channels", type=int, default=None, choices=(1, 3),
                   help="convert images to this many channels")
    d.add_argument("--limit", type=int, default=None, help="use only the first N examples")
    m = p.add_argument_group("model")
    m.add_argument("--model", default="dcgan", choices=MODEL_KINDS,
                   help="dcgan: convolutional pair; mlp: the fully connected baseline")
    m.add_argument("--latent_dim", "--latent-dim", type=int, default=100,
                   help="size of the noise vector z (nz)")
    m.add_argument("--width", type=int, default=32, help="DCGAN width: channels of G's last "
                   "hidden stage and D's first (ngf/ndf; the paper: 128)")
    m.add_argument("--hidden", type=int, nargs="+", default=[256, 512],
                   help="hidden layer sizes of the mlp generator (D uses them reversed)")
    _add_config_flags(p.add_argument_group("training"))
    o = p.add_argument_group("output")
    o.add_argument("--checkpoint_every", "--checkpoint-every", type=int, default=500,
                   help="steps between checkpoints")
    o.add_argument("--out", default=None, help="output folder (default: runs/DATASET-MODEL)")
    o.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    o.add_argument("--dry_run", "--dry-run", action="store_true",
                   help="two steps on random data: a smoke test of the whole path")


def cmd_train(args) -> None:
    if args.dry_run:
        size = args.image_size or 32
        data = torch.rand(2 * args.batch_size, args.channels or 1, size, size) * 2 - 1
        name, args.steps = "random", 2
    else:
        data = load_dataset(args.dataset, image_size=args.image_size, data_dir=args.data_dir,
                            channels=args.channels, limit=args.limit, seed=args.seed)
        name = data.name
        args.steps = args.steps or DEFAULT_STEPS.get(data.name, CLI_DEFAULTS["steps"])
    shape = tuple(getattr(data, "x", data)[0].shape)
    G, D = make_pair(args.model, shape, args.latent_dim, args.width, args.hidden, seed=args.seed)
    out = Path(args.out or f"runs/{name}-{args.model}")
    ckpt = out / "checkpoint.pt"
    trainer = Trainer(G, D, data, TrainConfig(**_train_config(args)))
    if args.resume:
        trainer.resume(ckpt)
    meta = {"command": "python -m dcgan_lib " + shlex.join(sys.argv[1:]), "dataset": name,
            "data_source": getattr(data, "source", "random"), "seed": args.seed,
            "hardware": hardware(trainer.device), "torch": str(torch.__version__)}
    trainer.callbacks.append(CheckpointEvery(ckpt, args.checkpoint_every, meta))
    t0 = time.perf_counter()
    trainer.fit()
    images = trainer.sample(z=trainer.fixed_noise)
    if images.dim() == 4:
        save_grid(images, out / "samples.png")
        print(f"wrote {out / 'samples.png'}")
    print(f"trained {trainer.step} steps in {time.perf_counter() - t0:.1f} s on "
          f"{meta['hardware']}; wrote {ckpt}")


# -- sample, export ---------------------------------------------------------------------


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw a grid of samples from a checkpoint's generator",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint file written by `train`")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="PNG file to write")
    p.add_argument("--seed", type=int, default=0, help="random seed for the noise")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")


def cmd_sample(args) -> None:
    if args.n < 1:
        raise ValueError(f"--n must be positive, got {args.n}")
    G = load_generator(args.checkpoint)
    if not hasattr(G, "image_size") and len(getattr(G, "output_shape", ())) != 3:
        raise ValueError(f"{args.checkpoint} holds a generator of 2-D points, not images; "
                         "nothing to draw")
    images = sample_generator(G, args.n, args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_grid(images, args.out, args.nrow)
    print(f"wrote {args.n} samples to {args.out}")


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write a small copy of a checkpoint for shipping "
                       "(no optimizer/RNG state)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint file written by `train`")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--generator_only", "--generator-only", action="store_true",
                   help="keep only the generator (and the loss history without sample grids)")
    p.add_argument("--half", action="store_true", help="store weights in float16")


def cmd_export(args) -> None:
    path = export_checkpoint(args.checkpoint, args.out, args.generator_only, args.half)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


# -- evaluate, train-classifier ---------------------------------------------------------


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score checkpoints' generators against the held-out "
                       "test split", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, nargs="+", help="checkpoint file(s) holding "
                   "a generator; files without one are skipped with a note")
    p.add_argument("--n", type=int, default=2000,
                   help="generated samples (and at most as many test images)")
    p.add_argument("--extractor", default="auto",
                   help="feature extractor: auto (the dataset's classifier), "
                   "classifier-fashion32, classifier-digits16, inception-v3, pixels")
    p.add_argument("--dataset", default=None,
                   help="dataset to compare with (default: the checkpoint's own)")
    p.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset")
    p.add_argument("--n_train", "--n-train", type=int, default=10_000,
                   help="training images searched by the memorisation check (0: skip it)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the generator's noise")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu")
    p.add_argument("--json", default=None, help="also write every score to this JSON file")


def cmd_evaluate(args) -> None:
    if args.n < 2:
        raise ValueError(f"--n must be at least 2, got {args.n}")
    extractors, report, skipped = {}, {}, []
    for path in args.checkpoint:
        state = load_checkpoint(path)
        if "generator" not in state:
            what = ", ".join(k for k in ("classifier", "discriminator") if k in state)
            skipped.append(f"{path} holds no generator ({what or 'no model'})")
            if len(args.checkpoint) > 1:
                print(f"{skipped[-1]}; skipped")
            continue
        dataset = args.dataset or state.get("meta", {}).get("dataset")
        if not dataset or dataset == "random":
            raise ValueError(f"{path} records no dataset it was trained on ({dataset!r}); "
                             "pass --dataset")
        name = default_extractor(dataset) if args.extractor == "auto" else args.extractor
        if name not in extractors:
            extractors[name] = feature_extractor(name, args.device)
        results = evaluate(load_generator(path), dataset, n=args.n, extractor=extractors[name],
                           seed=args.seed, n_train=args.n_train, device=args.device,
                           data_dir=args.data_dir)
        step = state.get("step")
        print(f"== {path} ({dataset} test split{f', step {step}' if step is not None else ''})")
        print(format_results(results))
        report[str(path)] = results
    if not report:
        raise ValueError("; ".join(skipped) + ": nothing to evaluate")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


def _add_train_classifier(sub) -> None:
    p = sub.add_parser("train-classifier", help="train the small CNN whose features score a "
                       "dataset", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist",
                   help="labelled image dataset (fashion-mnist, digits, mnist)")
    p.add_argument("--image_size", "--image-size", type=int, default=None,
                   help="image side in pixels, a power of two (default: the dataset's own)")
    p.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset")
    p.add_argument("--limit", type=int, default=None, help="use only the first N examples")
    p.add_argument("--epochs", type=int, default=2, help="passes over the training split")
    p.add_argument("--batch_size", "--batch-size", type=int, default=128, help="batch size")
    p.add_argument("--width", type=int, default=16,
                   help="channels of the first stage (doubled at each stage)")
    p.add_argument("--lr", type=float, default=2e-3,
                   help="Adam learning rate (decayed linearly to 0)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu")
    p.add_argument("--out", required=True,
                   help="checkpoint file to write, e.g. checkpoints/classifier_fashion32.pt")
    p.add_argument("--manifest", action="store_true", help="record the file (command, seed, "
                   "data, hardware, accuracy, sha256) in manifest.json beside it")
    p.add_argument("--no_progress", "--no-progress", action="store_true",
                   help="hide the progress bar")


def cmd_train_classifier(args) -> None:
    device = resolve_device(args.device)
    model, record = train_classifier(args.dataset, args.image_size, args.epochs,
                                     args.batch_size, args.lr, args.seed, device, args.data_dir,
                                     args.limit, args.width, progress=not args.no_progress)
    command = "python -m dcgan_lib " + shlex.join(sys.argv[1:])
    meta = {**record, "command": command, "hardware": hardware(device),
            "torch": str(torch.__version__)}
    out = save_checkpoint(args.out, {"classifier": pack_model(model), "meta": meta})
    print(f"test accuracy {record['test_accuracy']:.4f} after {record['epochs']} epochs "
          f"({record['wall_time_s']:.0f} s on {meta['hardware']}); wrote {out}")
    if args.manifest:
        path = record_in_manifest(out, manifest_entry(out, [command]))
        print(f"recorded {out.name} in {path}")


# -- main -------------------------------------------------------------------------------

COMMANDS = {
    "train": (_add_train, cmd_train),
    "sample": (_add_sample, cmd_sample),
    "export": (_add_export, cmd_export),
    "evaluate": (_add_evaluate, cmd_evaluate),
    "train-classifier": (_add_train_classifier, cmd_train_classifier),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command][1](args)
    except (ValueError, TypeError, FileNotFoundError, CheckpointError, NonFiniteLossError,
            OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint written is intact", file=sys.stderr)
        return 130
    return 0
