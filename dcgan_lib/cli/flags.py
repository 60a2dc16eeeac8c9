"""Checking the command line's flags where they are parsed, so each error names its flag.

Every flag gets an argparse ``type=`` below (``positive_int``, ``device_name``...), so
``--steps 0`` fails at once with ``argument --steps: must be a positive integer, got '0'``
and exit status 2, before any data are loaded. :class:`OneLineParser` prints that one line
(no usage block). Output paths are checked before the long work starts: the folder they go
in can be written, and an existing file is replaced only when it is of the same kind (a
training checkpoint, which can be resumed, only with ``--overwrite``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..checkpoint import CheckpointError, load_checkpoint
from ..data import DATASETS
from ..device import resolve_device
from ..imagefiles import IMAGE_EXTENSIONS
from ..models import check_image_size

__all__ = [
    "OneLineParser",
    "positive_int",
    "non_negative_int",
    "at_least_two",
    "positive_float",
    "unit_interval",
    "image_size",
    "classifier_image_size",
    "device_name",
    "dataset_name",
    "existing_dir",
    "checkpoint_file",
    "check_writable",
    "check_output_file",
]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: the flag, the problem, where to look."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _typed(name: str, check):
    """An argparse type called ``name`` (argparse shows it) that raises a readable error."""

    def convert(text: str):
        try:
            return check(text)
        except (ValueError, TypeError) as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = name
    return convert


def _int(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"must be {what}, got {text!r}") from None
    if value < low:
        raise ValueError(f"must be {what}, got {text!r}")
    return value


def _float(text: str, low: float, high: float | None, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"must be {what}, got {text!r}") from None
    if not (value > low if high is None else low <= value < high):  # also refuses nan
        raise ValueError(f"must be {what}, got {text!r}")
    return value


positive_int = _typed("positive_int", lambda t: _int(t, 1, "a positive integer"))
non_negative_int = _typed("non_negative_int", lambda t: _int(t, 0, "a non-negative integer"))
at_least_two = _typed("at_least_two", lambda t: _int(t, 2, "an integer of at least 2"))
positive_float = _typed(
    "positive_float", lambda t: _float(t, 0.0, None, "a positive number (not inf or nan)")
)
unit_interval = _typed("unit_interval", lambda t: _float(t, 0.0, 1.0, "a number in [0, 1)"))
image_size = _typed("image_size", lambda t: check_image_size(_int(t, 1, "a power of two")))
classifier_image_size = _typed(
    "image_size", lambda t: check_image_size(_int(t, 1, "a power of two"), smallest=8)
)


def _device(text: str) -> str:
    resolve_device(text)  # one-line ValueError for an unknown or absent device
    return text


def _dataset(text: str) -> str:
    key = text.lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {text!r}; choose one of: {', '.join(DATASETS)}")
    return text


def _existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        what = "a file, not a folder" if Path(text).exists() else "no such folder"
        raise ValueError(f"{text!r} is {what}; pass the folder that holds the data")
    return text


def _checkpoint_file(text: str) -> str:
    path = Path(text)
    if not path.is_file():
        raise ValueError(
            f"no checkpoint file at {text!r}"
            + (" (it is a folder: name its checkpoint.pt)" if path.is_dir() else "")
        )
    return text


device_name = _typed("device_name", _device)
dataset_name = _typed("dataset_name", _dataset)
existing_dir = _typed("existing_dir", _existing_dir)
checkpoint_file = _typed("checkpoint_file", _checkpoint_file)


def check_writable(path: Path, flag: str) -> None:
    """The folder ``path`` goes in exists or can be made, and can be written into."""
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: {parent} is a file, not a folder; choose another {flag}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: cannot write into {parent}; choose another {flag}")


def check_output_file(path, flag: str, kind: str, overwrite: bool = False) -> Path:
    """Check an output file before the work that makes it: its folder can be written, it is
    not a folder, and an existing file is of the same ``kind`` ("image", "json" or
    "checkpoint"); a training checkpoint (resumable) is replaced only with ``overwrite``."""
    path = Path(path)
    check_writable(path, flag)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; name a file in it")
    if kind == "image" and path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ValueError(
            f"{flag} {path}: name an image file ({', '.join(IMAGE_EXTENSIONS)}), "
            "so it cannot be a checkpoint or other file by mistake"
        )
    if kind != "checkpoint" or not path.exists() or overwrite:
        return path
    try:
        state = load_checkpoint(path)
    except CheckpointError:
        raise ValueError(
            f"{flag} {path} exists and is not a dcgan_lib checkpoint; "
            "choose another file, or pass --overwrite to replace it"
        ) from None
    if "opt_g" in state:
        raise ValueError(
            f"{flag} {path} holds a training checkpoint (step {state.get('step')}, resumable); "
            "replacing it would lose its training state: choose another file, or pass "
            "--overwrite"
        )
    return path


def add_command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand whose --help shows every default."""
    return sub.add_parser(name, help=help, formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def add_checkpoint_flag(p, help: str = "checkpoint file written by `train`", nargs=None) -> None:
    """The --checkpoint flag: a readable dcgan_lib checkpoint, checked where it is parsed."""
    p.add_argument("--checkpoint", required=True, nargs=nargs, type=checkpoint_file, help=help)
