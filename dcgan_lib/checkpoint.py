"""Checkpoints: the one owner of their format, of the models packed in them, and of the
manifest of the checkpoints the book ships.

A checkpoint is one ``torch.save`` file holding plain containers and tensors only, so it
loads with ``torch.load(weights_only=True)`` (no pickled code runs):

    {"format": FORMAT,
     "generator":     {"config": {...}, "state_dict": {...}},
     "discriminator": {"config": {...}, "state_dict": {...}},
     "generator_ema": {...} (runs with TrainConfig.ema_decay: the moving average of G),
     "opt_g": ..., "opt_d": ..., "step": int, "fixed_noise": Tensor,
     "rng": {"world_size": W, "ranks": [{"torch": uint8 Tensor, "cuda": ...}, ...]},
     "scaler": {...} (fp16 runs: the gradient scaler's numbers),
     "history": {...}, "train_config": {...},
     "meta": {"precision": "bf16" | "fp16" | "fp32", "world_size": W, ...}}

(Files written before per-rank states hold a single ``"rng": {"torch": ..., "cuda": ...}``,
read as one rank's.)

Each model's constructor arguments travel with its weights (:func:`pack_model`), so
``load_generator(path)`` rebuilds a generator from the file alone. Files are written
atomically: to a temporary file in the same folder, flushed to disk, then renamed over the
target, so a crash or a full disk mid-write never leaves a half-written checkpoint where a
good one was; the temporary file of a writer that died (``.NAME.PID.*.tmp``) is removed by
the next save. :func:`check_resumable` says in one line why a file cannot be resumed.

The shipped checkpoints: ``pretrained("dcgan_fashion32.pt")`` returns the path of one after
checking its sha256 against ``checkpoints/manifest.json``. It looks, in order, in
``$DCGAN_CHECKPOINT_DIR``, in the repository checkout this package was installed from,
and in ``./checkpoints`` or ``../checkpoints`` (a notebook's folder). Where none holds it
(a pip install in Colab) it downloads the file from the repository into
``~/.cache/dcgan_lib/checkpoints``, and says so; with no network it fails with a message
saying where it looked and how to get the file. :func:`manifest_entry` and
:func:`record_in_manifest` write the manifest (the commands, seed, data, hardware, wall
time, size and sha256 of each file).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.request
from pathlib import Path

import torch
from torch import nn

from .device import process_alive
from .models import model_from_config

__all__ = [
    "FORMAT",
    "CheckpointError",
    "pack_model",
    "unpack_model",
    "save_checkpoint",
    "remove_stale_temporaries",
    "load_checkpoint",
    "check_resumable",
    "load_model",
    "load_generator",
    "export_checkpoint",
    "REPOSITORY",
    "BRANCH",
    "sha256",
    "checkpoint_dir",
    "manifest",
    "pretrained",
    "manifest_entry",
    "record_in_manifest",
]

FORMAT = "dcgan_lib.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or not one of ours."""


def pack_model(model: nn.Module) -> dict:
    """``{"config": model.config, "state_dict": ...}``: a model as a checkpoint stores it."""
    return {"config": model.config, "state_dict": model.state_dict()}


def unpack_model(entry, what: str = "model", source="checkpoint") -> nn.Module:
    """Rebuild a model from :func:`pack_model`'s dict, in eval mode; one-line errors."""
    if not isinstance(entry, dict) or "config" not in entry or "state_dict" not in entry:
        raise CheckpointError(f"{source} holds no {what}")
    try:
        model = model_from_config(entry["config"])
    except ValueError as e:
        raise CheckpointError(f"{source}: the {what} cannot be rebuilt ({e})") from None
    try:
        model.load_state_dict(entry["state_dict"])
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[0]
        raise CheckpointError(
            f"{source}: the {what} weights do not fit its recorded configuration ({reason})"
        ) from None
    return model.eval()

    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Remove what interrupted saves of ``path`` left beside it: ``.NAME.PID.*.tmp`` files
    whose writer is no longer running. Returns the files removed."""
    path, removed = Path(path), []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and process_alive(int(pid)):
            continue  # a save under way in a running process
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` (see the module docstring) to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    state = {"format": FORMAT, **state}
    prefix = f".{path.name}.{os.getpid()}."  # the pid says whose it is (see above)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
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
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated, corrupt or unsafe): {reason}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a dcgan_lib checkpoint (expected format {FORMAT!r}); "
            "make one with `python -m dcgan_lib train`"
        )
    return state


_RESUMABLE = (
    "generator",
    "discriminator",
    "opt_g",
    "opt_d",
    "step",
    "rng",
    "fixed_noise",
    "history",
)


def check_resumable(state: dict, generator, discriminator, source="checkpoint", dataset=None):
    """Raise :class:`CheckpointError` with a one-line reason unless ``state`` is a training
    checkpoint of these models (same classes and constructor arguments; same ``dataset``
    when both say)."""
    if "classifier" in state:
        raise CheckpointError(
            f"{source} holds a classifier (written by train-classifier), not a GAN's training "
            "state; it cannot be resumed: start a new run (a new --out, without --resume)"
        )
    missing = [k for k in _RESUMABLE if k not in state]
    if missing:
        kind = "an exported copy" if "generator" in state else "no training state"
        if "generator" in state and "discriminator" not in state:
            kind = "an exported, generator-only copy"
        raise CheckpointError(
            f"{source} is {kind} (it has no {', '.join(missing)}): it can be sampled and "
            "evaluated but not resumed; resume from the run's own checkpoint.pt, or start a "
            "new run (a new --out, without --resume)"
        )
    diffs = []
    for role, model in (("generator", generator), ("discriminator", discriminator)):
        saved, now = state[role].get("config", {}), model.config
        if saved.get("class") != now["class"]:
            diffs.append(f"{role} class {saved.get('class')} (this run: {now['class']})")
            continue
        kwargs, saved_kwargs = now["kwargs"], saved.get("kwargs", {})
        for k in sorted(set(kwargs) | set(saved_kwargs)):
            a, b = saved_kwargs.get(k), kwargs.get(k)
            if (list(a) if isinstance(a, tuple) else a) != (list(b) if isinstance(b, tuple) else b):
                diffs.append(f"{k}={a} (this run: {b})")
    saved_data = state.get("meta", {}).get("dataset")
    if dataset and saved_data and saved_data != dataset:
        diffs.append(f"dataset {saved_data} (this run: {dataset})")
    if diffs:
        raise CheckpointError(
            f"cannot resume {source}: it was trained with {', '.join(dict.fromkeys(diffs))}; "
            "pass the flags it was trained with, or start a new run with a new --out"
        )


def load_model(path, which: str = "generator", map_location="cpu") -> nn.Module:
    """Rebuild ``which`` ("generator", "generator_ema": the moving average of its weights,
    "discriminator" or "classifier") from a checkpoint, in eval mode."""
    if which not in ("generator", "generator_ema", "discriminator", "classifier"):
        raise ValueError(
            "which must be 'generator', 'generator_ema', 'discriminator' or 'classifier', "
            f"got {which!r}"
        )
    state = load_checkpoint(path, map_location)
    return unpack_model(state.get(which), which, path)


def load_generator(path, map_location="cpu") -> torch.nn.Module:
    """The generator stored in a checkpoint, rebuilt from the file alone, in eval mode."""
    return load_model(path, "generator", map_location)


def export_checkpoint(
    src, dst, generator_only=False, half=False, discriminator_only=False, ema=False
) -> Path:
    """Write a small copy of ``src`` for shipping: no optimizer or RNG state (it can be
    sampled and evaluated, not resumed). ``generator_only`` (``discriminator_only``) also drops
    the discriminator (the generator) and the sample grids; ``half`` stores the weights in
    float16 (loading casts back); ``ema``: the generator is the moving average of G's weights
    (``meta["generator_weights"] == "ema"``). Refuses to write over ``src`` itself."""
    if generator_only and discriminator_only:
        raise ValueError("keep the generator only or the discriminator only, not both")
    if Path(dst).resolve() == Path(src).resolve():
        raise CheckpointError(
            f"export would write over its own source {src} (losing what the copy leaves out); "
            "choose another --out"
        )
    state = load_checkpoint(src)
    if ema and "generator_ema" not in state:
        raise CheckpointError(f"{src} holds no moving average of G: train with ema_decay > 0")
    if ema:
        meta = {**state.get("meta", {}), "generator_weights": "ema"}
        state = {**state, "generator": state["generator_ema"], "meta": meta}
    keep = ("step", "elapsed", "fixed_noise", "history", "train_config", "meta")
    keep += () if discriminator_only else ("generator",)
    keep += () if generator_only else ("discriminator",)
    out = {k: state[k] for k in keep if k in state}
    if (generator_only or discriminator_only) and "history" in out:
        out["history"] = {**out["history"], "samples": [], "sample_steps": []}
    if half:
        for which in ("generator", "discriminator"):
            if which in out:
                sd = out[which]["state_dict"]
                out[which] = {
                    **out[which],
                    "state_dict": {
                        k: v.half() if v.is_floating_point() else v for k, v in sd.items()
                    },
                }
    out.pop("format", None)
    return save_checkpoint(dst, out)


# ---------------------------------------------------------------------------------------
# The shipped checkpoints and their manifest

# Kept equal to _config.yml's repository url/branch by tests/test_platform.py.
REPOSITORY = "https://github.com/dcgan-book/dcgan-book"
BRANCH = "main"
CACHE = Path("~/.cache/dcgan_lib/checkpoints").expanduser()


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _candidates() -> list[Path]:
    places = []
    if os.environ.get("DCGAN_CHECKPOINT_DIR"):
        places.append(Path(os.environ["DCGAN_CHECKPOINT_DIR"]))
    places.append(Path(__file__).resolve().parent.parent / "checkpoints")  # a repository checkout
    places += [Path.cwd() / "checkpoints", Path.cwd().parent / "checkpoints", CACHE]
    return places


def checkpoint_dir() -> Path | None:
    """The first folder holding a ``manifest.json``, or None."""
    for place in _candidates():
        if (place / "manifest.json").is_file():
            return place
    return None


def manifest() -> dict:
    """The manifest: ``{"checkpoints": {name: {"commands", "seed", "sha256", ...}}}``."""
    folder = checkpoint_dir()
    if folder is None:
        _download("manifest.json", CACHE / "manifest.json", looked=_candidates())
        folder = CACHE
    return json.loads((folder / "manifest.json").read_text())


def _download(name: str, dest: Path, looked) -> None:
    raw = REPOSITORY.replace("github.com", "raw.githubusercontent.com")
    url = f"{raw}/{BRANCH}/checkpoints/{name}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".tmp")
    try:
        with urllib.request.urlopen(url, timeout=10) as r, open(tmp, "wb") as f:
            f.write(r.read())
    except OSError as e:
        tmp.unlink(missing_ok=True)
        where = ", ".join(str(p) for p in looked)
        raise FileNotFoundError(
            f"checkpoint {name!r} is not in any of: {where}; downloading {url} failed ({e}). "
            "Clone the repository (its checkpoints/ folder holds the file) "
            "or set DCGAN_CHECKPOINT_DIR."
        ) from None
    os.replace(tmp, dest)
    print(f"downloaded {name} from {url}")


def pretrained(name: str) -> Path:
    """Path of the shipped checkpoint ``name`` (e.g. ``"dcgan_fashion32.pt"``), verified."""
    entries = manifest()["checkpoints"]
    if name not in entries:
        raise ValueError(
            f"no shipped checkpoint named {name!r}; "
            f"the manifest lists: {', '.join(sorted(entries))}"
        )
    folder = checkpoint_dir() or CACHE
    path = folder / name
    if not path.is_file():
        _download(name, path, looked=_candidates())
    digest = sha256(path)
    if digest != entries[name]["sha256"]:
        raise ValueError(
            f"{path} does not match the manifest's sha256 (got {digest[:12]}..., expected "
            f"{entries[name]['sha256'][:12]}...); re-fetch it or re-run its commands: "
            f"{' && '.join(entries[name].get('commands', ['?']))}"
        )
    return path


def manifest_entry(path, commands, **extra) -> dict:
    """What the manifest records of a checkpoint: the commands that made it, its seed,
    data, steps, batch size, hardware, torch version and wall time (from the file's own
    record), size and sha256; plus ``extra`` (a note, say)."""
    path = Path(path)
    state = load_checkpoint(path)
    meta, cfg = state.get("meta", {}), state.get("train_config", {})
    entry = {
        "commands": list(commands),
        "seed": meta.get("seed"),
        "data": f"{meta.get('dataset')} ({meta.get('data_source')})",
        "steps": state.get("step", meta.get("steps")),
        "batch_size": cfg.get("batch_size", meta.get("batch_size")),
        "hardware": meta.get("hardware"),
        "torch": meta.get("torch"),
        "wall_time_s": round(float(meta.get("wall_time_s", state.get("elapsed", 0.0))), 1),
        "size_bytes": path.stat().st_size,
        "sha256": sha256(path),
    }
    entry.update({k: meta[k] for k in ("epochs", "test_accuracy") if k in meta})
    return {**entry, **extra}


def record_in_manifest(path, entry: dict, folder=None) -> Path:
    """Record ``entry`` for the checkpoint ``path`` in ``folder/manifest.json`` (default:
    the file's own folder), under its path relative to that folder; written atomically."""
    path = Path(path).resolve()
    folder = Path(folder).resolve() if folder is not None else path.parent
    manifest_path = folder / "manifest.json"
    data = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    data.setdefault("checkpoints", {})[path.relative_to(folder).as_posix()] = entry
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, manifest_path)
    return manifest_path
