"""Twemoji, the book's colour data set: 3,786 emoji as 64x64 RGB images with categories.

The images come from the npm package ``emoji-datasource-twitter`` (version 16.0.0):
``img/twitter/64/*.png`` (64x64 RGBA) and ``emoji.json``, which gives each image its
category (Smileys & Emotion, People & Body, Animals & Nature, Food & Drink, Travel &
Places, Activities, Objects, Symbols, Flags, Component); skin-tone variants take their
emoji's category. The graphics are Copyright Twitter, Inc. and other contributors,
licensed CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/).

* :func:`fetch_emoji` puts the images and ``emoji.json`` in a folder, with the npm client
  (``npm pack``; where npm is missing and apt-get can install it, as in Colab, it does);
  ``scripts/setup.sh`` calls it.
* :func:`read_emoji` reads such a folder: images composited on white (a transparent
  background left black would make a different data set), category labels, and a fixed
  held-out split decided by each file's name.

``dcgan_lib.data.load_dataset("emoji")`` finds the folder and scales the images to [-1, 1].
Nothing here imports the rest of dcgan_lib.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "PACKAGE",
    "CATEGORIES",
    "CREDIT",
    "IMAGES",
    "fetch_emoji",
    "find_emoji_dir",
    "read_emoji",
    "is_emoji_dir",
]

PACKAGE = "emoji-datasource-twitter@16.0.0"
IMAGES = "img/twitter/64"  # inside the package and inside an emoji folder
CATEGORIES = [
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
    "Component",
]
CREDIT = (
    "Emoji graphics: Twemoji, Copyright Twitter, Inc. and other contributors, CC-BY 4.0, "
    f"from the npm package {PACKAGE}"
)
TEST_SHARE = 10  # one image in TEST_SHARE is held out, chosen by a hash of its file name


def is_emoji_dir(folder) -> bool:
    """Whether ``folder`` holds ``emoji.json`` and the 64x64 images."""
    folder = Path(folder)
    return (folder / "emoji.json").is_file() and (folder / IMAGES).is_dir()


def find_emoji_dir(places) -> tuple[Path | None, list[str]]:
    """The first emoji folder among ``places`` ((label, root or None) pairs; each root and
    its ``emoji/`` subfolder are tried), and every place looked, for the error message."""
    looked, folder = [], None
    for label, root in places:
        if root is None:
            looked.append(label)
            continue
        for candidate in (Path(root), Path(root) / "emoji"):
            looked.append(f"{label}: {candidate}")
            if folder is None and is_emoji_dir(candidate):
                folder = candidate
    return folder, looked


def _npm() -> str:
    """The npm client; installed with apt-get where it is missing and apt-get can run."""
    npm = shutil.which("npm")
    if npm:
        return npm
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("npm is missing: installing it with apt-get (once)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([apt, "update", "-qq"], check=False, env=env, capture_output=True)
        subprocess.run(
            [apt, "install", "-y", "-qq", "npm"], check=False, env=env, capture_output=True
        )
        npm = shutil.which("npm")
        if npm:
            return npm
    raise FileNotFoundError(
        "the npm client is needed to fetch the emoji images and is not installed; "
        "install it (Debian: apt-get install npm) or unpack the package by hand: "
        f"`npm pack {PACKAGE}` elsewhere, then copy package/emoji.json and "
        f"package/{IMAGES}/ into the data folder"
    )


def fetch_emoji(dest) -> Path:
    """Download the package with ``npm pack`` and keep only ``emoji.json`` and the 64x64
    images, in ``dest`` (made atomically: a half-done fetch leaves nothing behind)."""
    dest = Path(dest).expanduser()
    if is_emoji_dir(dest):
        return dest
    npm = _npm()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".emoji-") as tmp:
        done = subprocess.run(
            [npm, "pack", PACKAGE, "--silent", "--fetch-retries=1", "--fetch-timeout=30000"],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        archives = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not archives:
            reason = (done.stderr.strip().splitlines() or ["no archive written"])[-1]
            raise FileNotFoundError(f"`npm pack {PACKAGE}` failed ({reason}); is there a network?")
        out = Path(tmp) / "emoji"
        with tarfile.open(archives[0]) as tar:
            keep = [
                m
                for m in tar.getmembers()
                if m.isfile()
                and (m.name == "package/emoji.json" or m.name.startswith(f"package/{IMAGES}/"))
            ]
            for member in keep:  # plain files under package/ only: no links, no ../ paths
                target = out / Path(member.name).relative_to("package")
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as f:
                    shutil.copyfileobj(src, f)
        if not is_emoji_dir(out):
            raise FileNotFoundError(f"the {PACKAGE} archive holds no {IMAGES}/ or emoji.json")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(out, dest)
    print(f"fetched {PACKAGE}: {len(list((dest / IMAGES).glob('*.png')))} images in {dest}")
    return dest


def _entries(folder: Path) -> list[tuple[str, int]]:
    """(file name, category index) of every image emoji.json lists, variants included."""
    out = []
    for entry in json.loads((folder / "emoji.json").read_text(encoding="utf8")):
        category = CATEGORIES.index(entry["category"])
        variants = (entry.get("skin_variations") or {}).values()
        for image in [entry["image"], *(v["image"] for v in variants)]:
            out.append((image, category))
    return sorted(set(out))


def _in_test(name: str) -> bool:
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % TEST_SHARE == 0


def read_emoji(folder, split: str = "train") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (N, 64, 64, 3) uint8 composited on white, labels (N,) int64 (indices into
    CATEGORIES) and file names of one split. The split is fixed by a hash of each file
    name (about one image in ten is held out), so it never changes with the order of
    files or with new emoji in a later version of the package."""
    folder = Path(folder)
    entries = [(n, c) for n, c in _entries(folder) if _in_test(n) == (split == "test")]
    entries = [(n, c) for n, c in entries if (folder / IMAGES / n).is_file()]
    if not entries:
        raise FileNotFoundError(f"{folder / IMAGES} holds none of the images emoji.json lists")
    images = np.empty((len(entries), 64, 64, 3), np.uint8)
    white = Image.new("RGBA", (64, 64), (255, 255, 255, 255))
    for i, (name, _) in enumerate(entries):
        path = folder / IMAGES / name
        try:
            with Image.open(path) as im:
                rgba = im.convert("RGBA")
        except OSError as e:
            raise OSError(f"{path}: unreadable image ({e}); fetch the emoji again") from None
        if rgba.size != (64, 64):
            rgba = rgba.resize((64, 64), Image.Resampling.LANCZOS)
        images[i] = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    labels = np.array([c for _, c in entries], np.int64)
    return images, labels, [n for n, _ in entries]
