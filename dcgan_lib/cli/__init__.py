"""The command line: ``python -m dcgan_lib train|sample|export|evaluate|train-classifier|...``.

A thin wrapper: it parses flags (each checked where it is parsed: exit status 2), calls the
library, and turns the library's errors into a one-line message and a non-zero exit status
(no traceback): 1 for an error, 130 for Ctrl-C. ``training`` holds the
commands that train and sample, ``scoring`` those that measure.
"""

from __future__ import annotations

import argparse
import sys

from ..checkpoint import CheckpointError
from ..history import NonFiniteLossError
from . import scoring, textures, training
from .flags import OneLineParser

__all__ = ["build_parser", "main"]

# -- main -------------------------------------------------------------------------------

COMMANDS = {
    "train": (training.add_train, training.cmd_train),
    "sample": (training.add_sample, training.cmd_sample),
    "export": (training.add_export, training.cmd_export),
    "evaluate": (scoring.add_evaluate, scoring.cmd_evaluate),
    "train-classifier": (scoring.add_train_classifier, scoring.cmd_train_classifier),
    "train-style": (textures.add_train_style, textures.cmd_train_style),
    "train-texture": (textures.add_train_texture, textures.cmd_train_texture),
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m dcgan_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit status (2: a bad flag, 1: an error, 130: Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a bad flag (2), already printed
        return e.code if isinstance(e.code, int) else 1
    try:
        COMMANDS[args.command][1](args)
    except (
        ValueError,
        TypeError,
        FileNotFoundError,
        CheckpointError,
        NonFiniteLossError,
        OSError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:  # train says what it saved; the others write at the end
        print(f"interrupted: {e or 'nothing was written'}", file=sys.stderr)
        return 130
    return 0
