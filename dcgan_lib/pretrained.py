"""The trained checkpoints the book ships in ``checkpoints/``, found and verified.

``pretrained("dcgan_fashion32.pt")`` returns the path of a shipped checkpoint after
checking its sha256 against ``checkpoints/manifest.json``. It looks, in order, in
``$DCGAN_CHECKPOINT_DIR``, in the repository checkout this package was installed from,
and in ``./checkpoints`` or ``../checkpoints`` (a notebook's folder). Where none holds it
(a pip install in Colab) it downloads the file from the repository into
``~/.cache/dcgan_lib/checkpoints``, and says so; with no network it fails with a message
saying where it looked and how to get the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["REPOSITORY", "BRANCH", "checkpoint_dir", "manifest", "pretrained", "sha256"]

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
    import urllib.request

    url = f"{REPOSITORY.replace('github.com', 'raw.githubusercontent.com')}/{BRANCH}/checkpoints/{name}"
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
            "Clone the repository (its checkpoints/ folder holds the file) or set DCGAN_CHECKPOINT_DIR."
        ) from None
    os.replace(tmp, dest)
    print(f"downloaded {name} from {url}")


def pretrained(name: str) -> Path:
    """Path of the shipped checkpoint ``name`` (e.g. ``"dcgan_fashion32.pt"``), verified."""
    entries = manifest()["checkpoints"]
    if name not in entries:
        raise ValueError(f"no shipped checkpoint named {name!r}; the manifest lists: {', '.join(sorted(entries))}")
    folder = checkpoint_dir() or CACHE
    path = folder / name
    if not path.is_file():
        _download(name, path, looked=_candidates())
    digest = sha256(path)
    if digest != entries[name]["sha256"]:
        raise ValueError(f"{path} does not match the manifest's sha256 (got {digest[:12]}..., expected "
                         f"{entries[name]['sha256'][:12]}...); re-fetch it or re-run its commands: "
                         f"{' && '.join(entries[name].get('commands', ['?']))}")
    return path
