"""``train``, ``sample`` and ``export``: training a GAN from the command line.

The ``train`` flags are derived from :class:`~dcgan_lib.train.TrainConfig`
(:mod:`.config_flags`, with the stabilisers' flags and the two time-scale learning rates
``--lr-d``/``--lr-g``). Every flag is checked where it is parsed (:mod:`.flags`); a run
folder is never silently overwritten and never shared (:mod:`.runfolder`). ``sample --ema``
and ``export --ema`` take the moving average of G's weights of a run with ``--ema-decay``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

from ..checkpoint import export_checkpoint, load_model, remove_stale_temporaries
from ..data import load_dataset
from ..device import hardware
from ..models import MODEL_KINDS, make_pair, sample_generator
from ..stabilisers import SNDiscriminator
from ..train import CheckpointEvery, TrainConfig, Trainer
from ..viz import save_grid
from .config_flags import CLI_DEFAULTS, DEFAULT_STEPS, TRAIN_HELP, add_config_flags, train_config
from .flags import (
    add_checkpoint_flag,
    add_command,
    check_output_file,
    dataset_name,
    existing_dir,
    image_size,
    non_negative_int,
    positive_int,
)
from .runfolder import RunLock, StopRequested, check_run_folder, stop_at_step_boundary

__all__ = [
    "DEFAULT_STEPS",
    "CLI_DEFAULTS",
    "TRAIN_HELP",
    "add_train",
    "cmd_train",
    "add_sample",
    "cmd_sample",
    "add_export",
    "cmd_export",
]

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
    m.add_argument(
        "--spectral_norm",
        "--spectral-norm",
        action="store_true",
        help="--model dcgan: D with spectral normalisation and no BatchNorm (SNDiscriminator, "
        "Miyato et al. 2018)",
    )
    add_config_flags(p.add_argument_group("training"))
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
    if args.spectral_norm and args.model != "dcgan":
        raise ValueError(f"--spectral-norm takes --model dcgan, not --model {args.model}")
    if args.spectral_norm:
        D = SNDiscriminator(**D.config["kwargs"])  # seeded too: drawn after the pair
    trainer = Trainer(G, D, data, TrainConfig(**train_config(args)))
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
    p.add_argument("--ema", action="store_true", help="the moving average of G (--ema-decay)")


def cmd_sample(args) -> None:
    check_output_file(args.out, "--out", "image")
    G = load_model(args.checkpoint, "generator_ema" if args.ema else "generator")
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
        "--ema", action="store_true", help="export the moving average of G as the generator"
    )
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
        args.checkpoint, args.out, args.generator_only, args.half, args.discriminator_only, args.ema
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
