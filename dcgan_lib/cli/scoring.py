"""``evaluate`` and ``train-classifier``: scoring generators from the command line."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from ..checkpoint import (
    load_checkpoint,
    load_generator,
    manifest_entry,
    pack_model,
    record_in_manifest,
    save_checkpoint,
)
from ..data import DATASETS
from ..device import hardware, resolve_device
from ..evaluation import evaluate, format_results
from ..features import CLASSIFIERS, default_extractor, feature_extractor, train_classifier
from .flags import (
    add_checkpoint_flag,
    add_command,
    at_least_two,
    check_output_file,
    classifier_image_size,
    dataset_name,
    device_name,
    existing_dir,
    non_negative_int,
    positive_float,
    positive_int,
)

# -- evaluate, train-classifier ---------------------------------------------------------

EXTRACTORS = ("auto", *CLASSIFIERS, "inception-v3", "pixels", "points")


def _extractor(text: str) -> str:
    if text.lower().replace("_", "-") not in (*EXTRACTORS, "inception", *DATASETS):
        raise argparse.ArgumentTypeError(
            f"unknown feature extractor {text!r}; choose one of: {', '.join(EXTRACTORS)}"
        )
    return text


def add_evaluate(sub) -> None:
    p = add_command(
        sub, "evaluate", "score checkpoints' generators against the held-out test split"
    )
    add_checkpoint_flag(
        p,
        "checkpoint file(s) holding a generator; files without one are skipped with a note",
        nargs="+",
    )
    p.add_argument(
        "--n",
        type=at_least_two,
        default=2000,
        help="generated samples (and at most as many test images)",
    )
    p.add_argument(
        "--extractor",
        default="auto",
        type=_extractor,
        help="feature extractor: auto (the dataset's classifier), "
        "classifier-fashion32, classifier-digits16, inception-v3, pixels",
    )
    p.add_argument(
        "--dataset",
        default=None,
        type=dataset_name,
        help="dataset to compare with (default: the checkpoint's own)",
    )
    p.add_argument(
        "--data_dir",
        "--data-dir",
        default=None,
        type=existing_dir,
        help="folder holding the dataset",
    )
    p.add_argument(
        "--n_train",
        "--n-train",
        type=non_negative_int,
        default=10_000,
        help="training images searched by the memorisation check (0: skip it)",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed for the generator's noise"
    )
    p.add_argument(
        "--device",
        default="auto",
        type=device_name,
        help="auto (cuda, then mps, then cpu), cuda, cpu",
    )
    p.add_argument("--json", default=None, help="also write every score to this JSON file")


def cmd_evaluate(args) -> None:
    if args.json:
        check_output_file(args.json, "--json", "json")
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
            raise ValueError(
                f"{path} records no dataset it was trained on ({dataset!r}); pass --dataset"
            )
        name = default_extractor(dataset) if args.extractor == "auto" else args.extractor
        if name not in extractors:
            extractors[name] = feature_extractor(name, args.device)
        results = evaluate(
            load_generator(path),
            dataset,
            n=args.n,
            extractor=extractors[name],
            seed=args.seed,
            n_train=args.n_train,
            device=args.device,
            data_dir=args.data_dir,
        )
        step = state.get("step")
        print(f"== {path} ({dataset} test split{f', step {step}' if step is not None else ''})")
        print(format_results(results))
        report[str(path)] = results
    if not report:
        raise ValueError("; ".join(skipped) + ": nothing to evaluate")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


def add_train_classifier(sub) -> None:
    p = add_command(sub, "train-classifier", "train the small CNN whose features score a dataset")
    p.add_argument(
        "--dataset",
        default="fashion-mnist",
        type=dataset_name,
        help="labelled image dataset (fashion-mnist, digits, mnist)",
    )
    p.add_argument(
        "--image_size",
        "--image-size",
        type=classifier_image_size,
        default=None,
        help="image side in pixels, a power of two from 8 to 256 (default: the dataset's own)",
    )
    p.add_argument(
        "--data_dir",
        "--data-dir",
        default=None,
        type=existing_dir,
        help="folder holding the dataset",
    )
    p.add_argument("--limit", type=positive_int, default=None, help="use only the first N examples")
    p.add_argument("--epochs", type=positive_int, default=2, help="passes over the training split")
    p.add_argument(
        "--batch_size", "--batch-size", type=positive_int, default=128, help="batch size"
    )
    p.add_argument(
        "--width",
        type=positive_int,
        default=16,
        help="channels of the first stage (doubled at each stage)",
    )
    p.add_argument(
        "--lr", type=positive_float, default=2e-3, help="Adam learning rate (decayed linearly to 0)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument(
        "--device",
        default="auto",
        type=device_name,
        help="auto (cuda, then mps, then cpu), cuda, cpu",
    )
    p.add_argument(
        "--out",
        required=True,
        help="checkpoint file to write, e.g. checkpoints/classifier_fashion32.pt",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out even when it holds a GAN's training checkpoint (resumable)",
    )
    p.add_argument(
        "--manifest",
        action="store_true",
        help="record the file (command, seed, "
        "data, hardware, accuracy, sha256) in manifest.json beside it",
    )
    p.add_argument(
        "--no_progress", "--no-progress", action="store_true", help="hide the progress bar"
    )


def cmd_train_classifier(args) -> None:
    check_output_file(args.out, "--out", "checkpoint", args.overwrite)  # before the training
    device = resolve_device(args.device)
    model, record = train_classifier(
        args.dataset,
        args.image_size,
        args.epochs,
        args.batch_size,
        args.lr,
        args.seed,
        device,
        args.data_dir,
        args.limit,
        args.width,
        progress=not args.no_progress,
    )
    command = "python -m dcgan_lib " + shlex.join(sys.argv[1:])
    meta = {
        **record,
        "command": command,
        "hardware": hardware(device),
        "torch": str(torch.__version__),
    }
    out = save_checkpoint(args.out, {"classifier": pack_model(model), "meta": meta})
    print(
        f"test accuracy {record['test_accuracy']:.4f} after {record['epochs']} epochs "
        f"({record['wall_time_s']:.0f} s on {meta['hardware']}); wrote {out}"
    )
    if args.manifest:
        path = record_in_manifest(out, manifest_entry(out, [command]))
        print(f"recorded {out.name} in {path}")
