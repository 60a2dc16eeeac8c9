"""Saving and loading training state.

A checkpoint is one ``torch.save`` file holding plain containers and tensors only, so it
loads with ``torch.load(weights_only=True)`` (no pickled code runs):

    {"format": FORMAT,
     "generator":     {"config": {...}, "state_dict": {...}},
     "discriminator": {"config": {...}, "state_dict": {...}},
     "opt_g": ..., "opt_d": ..., "step": int, "rng": {...}, "fixed_noise": Tensor,
     "history": {...}, "train_config": {...}, "meta": {...}}

Each model's constructor arguments travel with its weights, so ``load_generator(path)``
rebuilds a generator from the file alone. Files are written atomically: to a temporary
file in the same folder, flushed to disk, then renamed over the target, so a crash or a
full disk mid-write never leaves a half-written checkpoint where a good one was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from .models import model_from_config

__all__ = ["FORMAT", "CheckpointError", "export_checkpoint", "save_checkpoint", "load_checkpoint", "load_generator", "load_model"]

FORMAT = "dcgan_lib.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or not one of ours."""


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` (see the module docstring) to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, **state}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises :class:`CheckpointError` with a one-line reason for a missing, truncated,
    corrupt or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, random bytes, pickled code refused by weights_only
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated, corrupt or unsafe): {reason}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a dcgan_lib checkpoint (expected format {FORMAT!r}); "
            "make one with `python -m dcgan_lib train`"
        )
    return state


def load_model(path, which: str = "generator", map_location="cpu") -> torch.nn.Module:
    """Rebuild ``which`` ("generator" or "discriminator") from a checkpoint, in eval mode."""
    state = load_checkpoint(path, map_location)
    if which not in ("generator", "discriminator"):
        raise ValueError(f"which must be 'generator' or 'discriminator', got {which!r}")
    entry = state.get(which)
    if not isinstance(entry, dict) or "config" not in entry or "state_dict" not in entry:
        raise CheckpointError(f"{path} holds no {which}")
    model = model_from_config(entry["config"])
    try:
        model.load_state_dict(entry["state_dict"])
    except RuntimeError as e:
        raise CheckpointError(f"{path}: the {which} weights do not fit its recorded configuration ({e})") from None
    return model.eval()


def load_generator(path, map_location="cpu") -> torch.nn.Module:
    """The generator stored in a checkpoint, rebuilt from the file alone, in eval mode."""
    return load_model(path, "generator", map_location)


def export_checkpoint(src, dst, generator_only: bool = False, half: bool = False) -> Path:
    """Write a small copy of ``src`` for shipping: no optimizer or RNG state (it can be
    sampled and evaluated, not resumed). ``generator_only`` also drops the discriminator
    and the sample grids; ``half`` stores the weights in float16 (loading casts back)."""
    state = load_checkpoint(src)
    keep = ("generator", "step", "elapsed", "fixed_noise", "history", "train_config", "meta")
    if not generator_only:
        keep += ("discriminator",)
    out = {k: state[k] for k in keep if k in state}
    if generator_only and "history" in out:
        out["history"] = {**out["history"], "samples": [], "sample_steps": []}
    if half:
        for which in ("generator", "discriminator"):
            if which in out:
                sd = out[which]["state_dict"]
                out[which] = {**out[which], "state_dict": {
                    k: v.half() if v.is_floating_point() else v for k, v in sd.items()}}
    out.pop("format", None)
    return save_checkpoint(dst, out)
