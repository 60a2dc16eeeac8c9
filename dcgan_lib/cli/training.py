"""``train``, ``sample`` and ``export``: training a GAN from the command line.

The ``train`` flags are derived from :class:`~dcgan_lib.train.TrainConfig`, so each
default is written once, in the config; the command line changes two of them for a CPU
(``--steps`` per dataset and ``--batch-size 64``), and says so in ``--help``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import torch

from ..checkpoint import (
    export_checkpoint,
    load_generator,
)
from ..data import load_dataset
from ..device import hardware
from ..models import MODEL_KINDS, make_pair, sample_generator
from ..train import CheckpointEvery, TrainConfig, Trainer
from ..viz import save_grid

__all__ = [
    "DEFAULT_STEPS",
    "CLI_DEFAULTS",
    "add_train",
    "cmd_train",
    "add_sample",
    "cmd_sample",
    "add_export",
    "cmd_export",
]

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


def add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN and write a checkpoint and a sample grid",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument(
        "--dataset",
        default="digits",
        help="dataset name (digits, fashion-mnist, mnist, cifar10, celeba, folder, ring, grid)",
    )
    d.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset")
    d.add_argument(
        "--image_size",
        "--image-size",
        type=int,
        default=None,
        help="image side in pixels, a power of two from 16 to 256 (default: the dataset's own)",
    )
    d.add_argument(
        "--channels",
        type=int,
        default=None,
        choices=(1, 3),
        help="convert images to this many channels",
    )
    d.add_argument("--limit", type=int, default=None, help="use only the first N examples")
    m = p.add_argument_group("model")
    m.add_argument(
        "--model",
        default="dcgan",
        choices=MODEL_KINDS,
        help="dcgan: convolutional pair; mlp: the fully connected baseline",
    )
    m.add_argument(
        "--latent_dim",
        "--latent-dim",
        type=int,
        default=100,
        help="size of the noise vector z (nz)",
    )
    m.add_argument(
        "--width",
        type=int,
        default=32,
        help="DCGAN width: channels of G's last "
        "hidden stage and D's first (ngf/ndf; the paper: 128)",
    )
    m.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[256, 512],
        help="hidden layer sizes of the mlp generator (D uses them reversed)",
    )
    _add_config_flags(p.add_argument_group("training"))
    o = p.add_argument_group("output")
    o.add_argument(
        "--checkpoint_every",
        "--checkpoint-every",
        type=int,
        default=500,
        help="steps between checkpoints",
    )
    o.add_argument("--out", default=None, help="output folder (default: runs/DATASET-MODEL)")
    o.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    o.add_argument(
        "--dry_run",
        "--dry-run",
        action="store_true",
        help="two steps on random data: a smoke test of the whole path",
    )


def cmd_train(args) -> None:
    if args.dry_run:
        size = args.image_size or 32
        data = torch.rand(2 * args.batch_size, args.channels or 1, size, size) * 2 - 1
        name, args.steps = "random", 2
    else:
        data = load_dataset(
            args.dataset,
            image_size=args.image_size,
            data_dir=args.data_dir,
            channels=args.channels,
            limit=args.limit,
            seed=args.seed,
        )
        name = data.name
        args.steps = args.steps or DEFAULT_STEPS.get(data.name, CLI_DEFAULTS["steps"])
    shape = tuple(getattr(data, "x", data)[0].shape)
    G, D = make_pair(args.model, shape, args.latent_dim, args.width, args.hidden, seed=args.seed)
    out = Path(args.out or f"runs/{name}-{args.model}")
    ckpt = out / "checkpoint.pt"
    trainer = Trainer(G, D, data, TrainConfig(**_train_config(args)))
    if args.resume:
        trainer.resume(ckpt)
    meta = {
        "command": "python -m dcgan_lib " + shlex.join(sys.argv[1:]),
        "dataset": name,
        "data_source": getattr(data, "source", "random"),
        "seed": args.seed,
        "hardware": hardware(trainer.device),
        "torch": str(torch.__version__),
    }
    trainer.callbacks.append(CheckpointEvery(ckpt, args.checkpoint_every, meta))
    t0 = time.perf_counter()
    trainer.fit()
    images = trainer.sample(z=trainer.fixed_noise)
    if images.dim() == 4:
        save_grid(images, out / "samples.png")
        print(f"wrote {out / 'samples.png'}")
    print(
        f"trained {trainer.step} steps in {time.perf_counter() - t0:.1f} s on "
        f"{meta['hardware']}; wrote {ckpt}"
    )


# -- sample, export ---------------------------------------------------------------------


def add_sample(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="draw a grid of samples from a checkpoint's generator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
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
        raise ValueError(
            f"{args.checkpoint} holds a generator of 2-D points, not images; nothing to draw"
        )
    images = sample_generator(G, args.n, args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_grid(images, args.out, args.nrow)
    print(f"wrote {args.n} samples to {args.out}")


def add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a small copy of a checkpoint for shipping (no optimizer/RNG state)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="checkpoint file written by `train`")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument(
        "--generator_only",
        "--generator-only",
        action="store_true",
        help="keep only the generator (and the loss history without sample grids)",
    )
    p.add_argument("--half", action="store_true", help="store weights in float16")


def cmd_export(args) -> None:
    path = export_checkpoint(args.checkpoint, args.out, args.generator_only, args.half)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
