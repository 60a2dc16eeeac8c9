"""``train``, ``sample`` and ``export``: training a GAN from the command line.

The ``train`` flags are derived from :class:`~dcgan_lib.train.TrainConfig`, so each
default is written once, in the config; the command line changes two of them for a CPU
(``--steps`` per dataset and ``--batch-size 64``), and says so in ``--help``. Every flag
is checked where it is parsed (:mod:`.flags`); a run folder is never silently overwritten
and never shared (:mod:`.runfolder`).
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

from ..checkpoint import export_checkpoint, load_generator, remove_stale_temporaries
from ..data import load_dataset
from ..device import hardware
from ..models import MODEL_KINDS, make_pair, sample_generator
from ..runtime import COMPILE_MODES, compile_options
from ..train import CheckpointEvery, TrainConfig, Trainer
from ..viz import save_grid
from .flags import (
    add_checkpoint_flag,
    add_command,
    check_output_file,
    dataset_name,
    device_name,
    existing_dir,
    image_size,
    non_negative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from .runfolder import RunLock, StopRequested, check_run_folder, stop_at_step_boundary

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
    "amp": "mixed precision (default: on CUDA: bf16, or fp16 with a gradient scaler on GPUs "
    "without bf16; the CPU stays fp32)",
    "channels_last": "channels_last memory format (default: on CUDA)",
    "compile": "wrap both models in torch.compile; optionally a mode "
    f"({', '.join(COMPILE_MODES)}) or a backend (inductor, aot_eager, eager, ...)",
    "sample_every": "steps between fixed-noise grids (0: ten per run)",
    "n_samples": "size of the fixed noise batch",
    "log_every": "steps between host syncs of the statistics (0: 1 on CPU, 50 on GPU)",
    "time_limit": "stop after this many seconds",
    "progress": "show a progress bar",
    "num_workers": "DataLoader workers for streamed datasets (default: up to 8)",
}
CHOICES = {"loss": ("non_saturating", "saturating")}
# the check each TrainConfig flag gets where it is parsed (the rest: choices or on/off)
TYPES = {
    "steps": positive_int,
    "batch_size": positive_int,
    "lr_g": positive_float,
    "lr_d": positive_float,
    "beta1": unit_interval,
    "beta2": unit_interval,
    "d_steps": positive_int,
    "seed": non_negative_int,
    "device": device_name,
    "sample_every": non_negative_int,
    "n_samples": positive_int,
    "log_every": non_negative_int,
    "time_limit": positive_float,
    "num_workers": non_negative_int,
}
RUN_FOLDERS = """\
Run folders are never silently overwritten: a folder that already holds
checkpoint.pt is refused unless --resume (continue that run) or --overwrite
(replace it) says what to do; or choose a new --out. The default folder,
runs/DATASET-MODEL, is shared by every run of a dataset and model, so name one
with --out. OUT/.lock (the pid of the training) keeps a second training out of a
folder in use; a lock left by a killed process is taken over.

Ctrl-C stops at the end of the step under way and writes checkpoint.pt (continue
with --resume). A diverging run (a loss or weight NaN, infinite or exploding)
stops with a one-line reason and exit status 1, keeping the last good checkpoint."""


def _compile_choice(text: str) -> str:
    """``--compile MODE_OR_BACKEND``, checked where it is parsed."""
    try:
        compile_options(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


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
            kwargs.update(nargs="?", const=True, default=False, type=_compile_choice)
            kwargs["metavar"] = "MODE_OR_BACKEND"
        elif kind in (bool, bool | None):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            base = next(t for t in typing.get_args(kind) or (kind,) if t is not type(None))
            kwargs.update(type=TYPES.get(f.name, base), choices=CHOICES.get(f.name))
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
        formatter_class=_HelpFormatter,
        epilog=RUN_FOLDERS,
    )
    d = p.add_argument_group("data")
    d.add_argument(
        "--dataset",
        default="digits",
        type=dataset_name,
        help="dataset name (digits, fashion-mnist, mnist, cifar10, celeba, folder, ring, grid)",
    )
    d.add_argument(
        "--data_dir",
        "--data-dir",
        default=None,
        type=existing_dir,
        help="folder holding the dataset",
    )
    d.add_argument(
        "--image_size",
        "--image-size",
        type=image_size,
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
    d.add_argument("--limit", type=positive_int, default=None, help="use only the first N examples")
    d.add_argument(
        "--skip_unreadable",
        "--skip-unreadable",
        action="store_true",
        help="image folders: skip files that cannot be read (and say how many) instead of "
        "stopping with their names",
    )
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
        type=positive_int,
        default=100,
        help="size of the noise vector z (nz)",
    )
    m.add_argument(
        "--width",
        type=positive_int,
        default=32,
        help="DCGAN width: channels of G's last "
        "hidden stage and D's first (ngf/ndf; the paper: 128)",
    )
    m.add_argument(
        "--hidden",
        type=positive_int,
        nargs="+",
        default=[256, 512],
        help="hidden layer sizes of the mlp generator (D uses them reversed)",
    )
    _add_config_flags(p.add_argument_group("training"))
    o = p.add_argument_group("output")
    o.add_argument(
        "--checkpoint_every",
        "--checkpoint-every",
        type=positive_int,
        default=500,
        help="steps between checkpoints",
    )
    o.add_argument("--out", default=None, help="output folder (default: runs/DATASET-MODEL)")
    again = o.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    again.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in OUT (its checkpoint.pt) with a new one",
    )
    o.add_argument(
        "--dry_run",
        "--dry-run",
        action="store_true",
        help="two steps on random data: a smoke test of the whole path",
    )


def cmd_train(args) -> None:
    name = "random" if args.dry_run else args.dataset.lower().replace("_", "-")
    out = Path(args.out or f"runs/{name}-{args.model}")
    with RunLock(out):  # a second training into `out` stops here
        ckpt = check_run_folder(out, args.resume, args.overwrite)  # before any data are loaded
        remove_stale_temporaries(ckpt)  # what saves cut short (a kill) left behind
        try:
            _train(args, out, ckpt)
        except StopRequested:
            raise  # it says what was saved
        except KeyboardInterrupt:  # before training, or a second Ctrl-C mid-step
            kept = f"the last checkpoint written, {ckpt}, is intact"
            kept = kept if ckpt.exists() else "no checkpoint was written"
            raise KeyboardInterrupt(
                f"not at a step boundary, so nothing was saved; {kept}"
            ) from None


def _train(args, out: Path, ckpt: Path) -> None:
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
            skip_unreadable=args.skip_unreadable,
        )
        name = data.name
        args.steps = args.steps or DEFAULT_STEPS.get(data.name, CLI_DEFAULTS["steps"])
    shape = tuple(getattr(data, "x", data)[0].shape)
    G, D = make_pair(args.model, shape, args.latent_dim, args.width, args.hidden, seed=args.seed)
    trainer = Trainer(G, D, data, TrainConfig(**_train_config(args)))
    try:
        _fit(args, out, ckpt, data, name, trainer)
    finally:
        trainer.close()  # the process group, if the trainer created it (torchrun)


def _fit(args, out: Path, ckpt: Path, data, name: str, trainer: Trainer) -> None:
    if args.resume:
        trainer.resume(ckpt, dataset=name)
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
    try:
        with stop_at_step_boundary(trainer):
            trainer.fit()
    except StopRequested:  # at a step boundary: the state is consistent, so save it
        trainer.save(ckpt, **meta, wall_time_s=trainer.elapsed)
        raise StopRequested(
            f"at step {trainer.step}; wrote {ckpt}: continue with the same command and --resume"
        ) from None
    finally:
        unreadable = getattr(getattr(data, "x", None), "unreadable", list)()
        if unreadable:
            names = ", ".join(map(str, unreadable))
            print(f"skipped {len(unreadable)} unreadable image files: {names}")
    images = trainer.sample(z=trainer.fixed_noise)
    if images.dim() == 4:
        save_grid(images, out / "samples.png")
        print(f"wrote {out / 'samples.png'}")
    print(
        f"trained {trainer.step} steps in {time.perf_counter() - t0:.1f} s on "
        f"{meta['hardware']}; wrote {ckpt}"
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Flag defaults in --help, and the epilog's paragraphs as written."""


# -- sample, export ---------------------------------------------------------------------


def add_sample(sub) -> None:
    p = add_command(sub, "sample", "draw a grid of samples from a checkpoint's generator")
    add_checkpoint_flag(p, "checkpoint file written by `train`")
    p.add_argument("--n", type=positive_int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="image file (.png) to write")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed for the noise")
    p.add_argument(
        "--nrow", type=positive_int, default=None, help="images per row (default: square)"
    )


def cmd_sample(args) -> None:
    check_output_file(args.out, "--out", "image")
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
    p = add_command(
        sub, "export", "write a small copy of a checkpoint for shipping (no optimizer/RNG state)"
    )
    add_checkpoint_flag(p, "checkpoint file written by `train`")
    p.add_argument("--out", required=True, help="file to write (never the --checkpoint itself)")
    p.add_argument(
        "--generator_only",
        "--generator-only",
        action="store_true",
        help="keep only the generator (and the loss history without sample grids)",
    )
    p.add_argument(
        "--discriminator_only",
        "--discriminator-only",
        action="store_true",
        help="keep only the discriminator (and the loss history without sample grids)",
    )
    p.add_argument("--half", action="store_true", help="store weights in float16")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out even when it holds a training checkpoint (resumable)",
    )


def cmd_export(args) -> None:
    if Path(args.out).resolve() == Path(args.checkpoint).resolve():
        raise ValueError(
            f"--out {args.out} is the --checkpoint itself; export writes a smaller copy "
            "(no optimizer state), so writing over its source would lose that: choose another --out"
        )
    check_output_file(args.out, "--out", "checkpoint", args.overwrite)
    path = export_checkpoint(
        args.checkpoint, args.out, args.generator_only, args.half, args.discriminator_only
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
