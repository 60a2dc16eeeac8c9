"""``train-style`` and ``train-texture``: the feed-forward networks of the style chapter.

    python -m dcgan_lib train-style --steps 600 --out checkpoints/style_petals64.pt --manifest
    python -m dcgan_lib train-texture --steps 1500 --out checkpoints/texture_petals.pt --manifest

Each trains on scikit-learn's bundled photographs (no download), with the feature network
``--features`` names (auto: VGG19 where its weights can be had, else the random one), and
writes a small checkpoint (float16 weights, per-step losses, what made it).
"""

from __future__ import annotations

import shlex
import sys

import torch

from ..checkpoint import manifest_entry, pack_model, record_in_manifest, save_checkpoint
from ..device import hardware, resolve_device
from ..style import feature_network
from ..textures import (
    PICTURES,
    SpatialDiscriminator,
    SpatialGenerator,
    StyleNetwork,
    half_precision,
    picture,
    random_crops,
    train_spatial_gan,
    train_style_network,
)
from .flags import add_command, check_output_file, non_negative_int, positive_float, positive_int


def _common_flags(p, out_example: str) -> None:
    p.add_argument("--steps", type=positive_int, default=600, help="training steps")
    p.add_argument("--batch_size", "--batch-size", type=positive_int, default=4, help="batch size")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument("--out", required=True, help=f"checkpoint file to write, e.g. {out_example}")
    p.add_argument(
        "--manifest",
        action="store_true",
        help="record the file (command, seed, data, hardware, sha256) in manifest.json beside it",
    )


def add_train_style(sub) -> None:
    p = add_command(sub, "train-style", "train a fast style network (Johnson et al. 2016)")
    p.add_argument("--style", default="petals", choices=sorted(PICTURES), help="style picture")
    p.add_argument("--content", default="china-wide", choices=sorted(PICTURES), help="crops of it")
    p.add_argument("--size", type=positive_int, default=64, help="training crop side in pixels")
    p.add_argument(
        "--features", default="auto", choices=("auto", "vgg19", "random"), help="feature network"
    )
    p.add_argument(
        "--style_weight", "--style-weight", type=positive_float, default=10.0, help="style weight"
    )
    _common_flags(p, "checkpoints/style_petals64.pt")


def add_train_texture(sub) -> None:
    p = add_command(sub, "train-texture", "train a Spatial GAN on crops of one picture")
    p.add_argument("--texture", default="petals", choices=sorted(PICTURES), help="picture")
    p.add_argument("--size", type=positive_int, default=128, help="the picture's side in pixels")
    p.add_argument("--crop", type=positive_int, default=32, help="training crop side in pixels")
    _common_flags(p, "checkpoints/texture_petals.pt")


def _save(args, which: str, model, history: dict, meta: dict) -> None:
    command = "python -m dcgan_lib " + shlex.join(sys.argv[1:])
    meta = {
        **meta,
        "command": command,
        "seed": args.seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "hardware": hardware(torch.device("cpu")),
        "torch": str(torch.__version__),
        "wall_time_s": history.pop("seconds"),
    }
    state = {which: half_precision(pack_model(model)), "history": history, "meta": meta}
    out = save_checkpoint(args.out, {**state, "step": args.steps})
    print(f"{args.steps} steps in {meta['wall_time_s']:.0f} s; wrote {out}")
    if args.manifest:
        path = record_in_manifest(out, manifest_entry(out, [command]))
        print(f"recorded {out.name} in {path}")


def cmd_train_style(args) -> None:
    check_output_file(args.out, "--out", "checkpoint")
    if args.size % 4:
        raise ValueError(f"--size must be a multiple of 4, got {args.size}")
    torch.manual_seed(args.seed)
    features = feature_network(args.features, resolve_device("cpu"))
    style = picture(args.style, args.size)
    wide = picture(args.content, (2 * args.size, 3 * args.size))
    contents = random_crops(wide, args.size, 512, torch.Generator().manual_seed(args.seed))
    network = StyleNetwork()
    history = train_style_network(
        network, features, style, contents, args.steps, args.batch_size,
        style_weight=args.style_weight, seed=args.seed,
    )  # fmt: skip
    meta = {
        "dataset": f"style {args.style}, content crops of {args.content}",
        "data_source": "scikit-learn sample images",
        "features": features.name,
        "size": args.size,
    }
    _save(args, "style_network", network, history, meta)


def cmd_train_texture(args) -> None:
    check_output_file(args.out, "--out", "checkpoint")
    torch.manual_seed(args.seed)
    image = picture(args.texture, args.size)
    generator, discriminator = SpatialGenerator(), SpatialDiscriminator()
    if args.crop % 2**generator.stages or args.crop > args.size:
        raise ValueError(
            f"--crop must be a multiple of {2**generator.stages} and at most --size, "
            f"got {args.crop}"
        )
    history = train_spatial_gan(
        generator, discriminator, image, args.crop, args.steps, args.batch_size, seed=args.seed
    )
    meta = {
        "dataset": f"crops of {args.texture}",
        "data_source": "scikit-learn sample images",
        "size": args.size,
        "crop": args.crop,
    }
    _save(args, "texture_generator", generator, history, meta)
