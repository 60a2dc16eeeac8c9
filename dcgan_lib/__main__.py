"""The command line: ``python -m dcgan_lib train|sample ...`` (``--help`` on each).

A thin wrapper: it parses flags, calls the library, and turns the library's errors into a
one-line message and a non-zero exit status (no traceback).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

# Defaults that train in about a minute or two on 2 CPU cores (raise them on a GPU).
DEFAULT_STEPS = {"digits": 4000, "fashion-mnist": 2500, "mnist": 2500}


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a GAN and write a checkpoint and a sample grid",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="digits", help="dataset name (digits, fashion-mnist, mnist, cifar10, celeba, "
                   "folder, ring, grid)")
    d.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset files")
    d.add_argument("--image_size", "--image-size", type=int, default=None,
                   help="image side in pixels, a power of two from 16 to 256 (default: the dataset's own)")
    d.add_argument("--channels", type=int, default=None, choices=(1, 3), help="convert images to this many channels")
    d.add_argument("--limit", type=int, default=None, help="use only the first N training examples")
    m = p.add_argument_group("model")
    m.add_argument("--model", default="dcgan", choices=("dcgan", "mlp"),
                   help="dcgan: convolutional pair; mlp: the fully connected baseline")
    m.add_argument("--latent_dim", "--latent-dim", type=int, default=100, help="size of the noise vector z (nz)")
    m.add_argument("--width", type=int, default=32,
                   help="DCGAN width: channels of G's last hidden stage and D's first (ngf/ndf; the paper: 128)")
    m.add_argument("--hidden", type=int, nargs="+", default=[256, 512],
                   help="hidden layer sizes of the mlp generator (the discriminator uses them reversed)")
    t = p.add_argument_group("training")
    t.add_argument("--steps", type=int, default=None,
                   help=f"generator updates (default per dataset: {DEFAULT_STEPS}, else 2000)")
    t.add_argument("--time_limit", "--time-limit", type=float, default=None, help="stop after this many seconds")
    t.add_argument("--batch_size", "--batch-size", type=int, default=64, help="batch size (the paper: 128)")
    t.add_argument("--lr_g", "--lr-g", type=float, default=2e-4, help="generator learning rate")
    t.add_argument("--lr_d", "--lr-d", type=float, default=2e-4, help="discriminator learning rate")
    t.add_argument("--beta1", type=float, default=0.5, help="Adam beta1")
    t.add_argument("--d_steps", "--d-steps", type=int, default=1, help="discriminator updates per generator update")
    t.add_argument("--loss", default="non_saturating", choices=("non_saturating", "saturating"),
                   help="generator loss")
    t.add_argument("--seed", type=int, default=0, help="random seed")
    t.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu, ...")
    t.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: on CUDA only)")
    t.add_argument("--compile", action="store_true", help="wrap both models in torch.compile")
    t.add_argument("--sample_every", "--sample-every", type=int, default=0,
                   help="steps between fixed-noise grids (0: ten per run)")
    t.add_argument("--checkpoint_every", "--checkpoint-every", type=int, default=500,
                   help="steps between checkpoints")
    t.add_argument("--no_progress", "--no-progress", action="store_true", help="hide the progress bar")
    o = p.add_argument_group("output")
    o.add_argument("--out", default=None, help="output folder (default: runs/DATASET-MODEL)")
    o.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    o.add_argument("--dry_run", "--dry-run", action="store_true",
                   help="two steps on random data: a smoke test of the whole path")


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw a grid of samples from a checkpoint's generator",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint file written by `train`")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="PNG file to write")
    p.add_argument("--seed", type=int, default=0, help="random seed for the noise")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write a small copy of a checkpoint for shipping (no optimizer/RNG state)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint file written by `train`")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--generator_only", "--generator-only", action="store_true",
                   help="keep only the generator (and the loss history without sample grids)")
    p.add_argument("--half", action="store_true", help="store weights in float16")


def cmd_export(args) -> None:
    from .checkpoint import export_checkpoint

    path = export_checkpoint(args.checkpoint, args.out, args.generator_only, args.half)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_sample(sub)
    _add_export(sub)
    try:
        from .metrics import add_evaluate_parser, add_train_classifier_parser
    except ImportError:
        pass
    else:
        add_evaluate_parser(sub)
        add_train_classifier_parser(sub)
    return parser


def _models(args, shape):
    from .models import Discriminator, Generator, MLPDiscriminator, MLPGenerator

    if args.model == "mlp":
        return (MLPGenerator(args.latent_dim, shape, tuple(args.hidden)),
                MLPDiscriminator(shape, tuple(reversed(args.hidden))))
    if len(shape) != 3:
        raise ValueError(f"the dcgan model needs images; dataset {args.dataset!r} gives points: use --model mlp")
    c, size, _ = shape
    return Generator(args.latent_dim, size, c, args.width), Discriminator(size, c, args.width)


def cmd_train(args) -> None:
    from .data import load_dataset
    from .train import CheckpointEvery, TrainConfig, Trainer, hardware
    from .viz import save_grid

    if args.dry_run:
        size = args.image_size or 32
        data = torch.rand(2 * args.batch_size, args.channels or 1, size, size) * 2 - 1
        name, steps = "random", 2
    else:
        data = load_dataset(args.dataset, image_size=args.image_size, data_dir=args.data_dir,
                            channels=args.channels, limit=args.limit, seed=args.seed)
        name, steps = data.name, args.steps or DEFAULT_STEPS.get(data.name, 2000)
    shape = tuple((getattr(data, "x", data)[0]).shape)
    torch.manual_seed(args.seed)  # the initial weights follow --seed too
    G, D = _models(args, shape)
    out = Path(args.out or f"runs/{name}-{args.model}")
    ckpt = out / "checkpoint.pt"
    config = TrainConfig(steps=steps, batch_size=args.batch_size, lr_g=args.lr_g, lr_d=args.lr_d, beta1=args.beta1,
                         d_steps=args.d_steps, loss=args.loss, seed=args.seed, device=args.device, amp=args.amp,
                         compile=args.compile, sample_every=args.sample_every, time_limit=args.time_limit,
                         progress=not args.no_progress)
    trainer = Trainer(G, D, data, config)
    if args.resume:
        trainer.resume(ckpt)
    meta = {"command": "python -m dcgan_lib " + shlex.join(sys.argv[1:]), "dataset": name,
            "data_source": getattr(data, "source", "random"), "seed": args.seed,
            "hardware": hardware(trainer.device), "torch": str(torch.__version__)}
    trainer.callbacks.append(_Saver(ckpt, args.checkpoint_every, meta))
    t0 = time.perf_counter()
    trainer.fit()
    grid = out / "samples.png"
    images = trainer.sample(z=trainer.fixed_noise)
    if images.dim() == 4:
        save_grid(images, grid)
        print(f"wrote {grid}")
    print(f"trained {trainer.step} steps in {time.perf_counter() - t0:.1f} s on {meta['hardware']}; wrote {ckpt}")


class _Saver:
    """Checkpoint callback that also records how the run was made."""

    def __init__(self, path, every, meta):
        self.path, self.every, self.meta = path, every, meta

    def on_step_end(self, trainer):
        if trainer.step % self.every == 0:
            trainer.save(self.path, **self.meta, wall_time_s=trainer.elapsed)

    def on_train_end(self, trainer):
        trainer.save(self.path, **self.meta, wall_time_s=trainer.elapsed)


def cmd_sample(args) -> None:
    from .checkpoint import load_generator
    from .viz import save_grid

    if args.n < 1:
        raise ValueError(f"--n must be positive, got {args.n}")
    G = load_generator(args.checkpoint)
    if not hasattr(G, "image_size") and len(getattr(G, "output_shape", ())) != 3:
        raise ValueError(f"{args.checkpoint} holds a generator of 2-D points, not images; nothing to draw")
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        images = G(torch.randn(args.n, G.latent_dim, generator=g))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_grid(images, args.out, args.nrow)
    print(f"wrote {args.n} samples to {args.out}")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .checkpoint import CheckpointError
    from .train import NonFiniteLossError

    commands = {"train": cmd_train, "sample": cmd_sample, "export": cmd_export}
    if args.command == "evaluate":
        from .metrics import cmd_evaluate as run
    elif args.command == "train-classifier":
        from .metrics import cmd_train_classifier as run
    else:
        run = commands[args.command]
    try:
        run(args)
    except (ValueError, FileNotFoundError, CheckpointError, NonFiniteLossError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint written is intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
