"""Datasets for the book, all scaled to [-1, 1].

`load_dataset(name, ...)` returns a `Dataset`: images as a float32 tensor of shape
(N, C, H, W) with values in [-1, 1] (the range of the generator's tanh output), or
points of shape (N, 2) for the 2-D toy mixtures. Sets too large to hold in memory
(CelebA, big image folders) come back as a lazy `torch.utils.data.Dataset` whose
items are (C, H, W) tensors in the same range.

Tests and builds run without a network, so every dataset says where it came from,
and one that cannot be found fails at once with a message naming every place looked:

    digits         scikit-learn's 8x8 digits (bundled, the offline default):
                   1,437 train / 360 test, a fixed stratified split
    fashion-mnist  IDX files: data_dir, $DCGAN_DATA_DIR, the Debian package
                   dataset-fashion-mnist, torchvision's cache, then a download
    mnist          IDX files, same search without the Debian package
    cifar10        torchvision (50,000 train / 10,000 test, 32x32 RGB)
    celeba         torchvision, lazy (about 163k train / 20k test)
    folder         every image under data_dir; 10% held out for "test"
    ring, grid     the classic GAN mode-collapse toys: 8 Gaussians on a circle,
                   25 on a 5x5 grid (sampled, so "test" is just another seed)
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .device import NETWORK_TIMEOUT, network_available
from .emoji import CATEGORIES, fetch_emoji, find_emoji_dir, read_emoji
from .imagefiles import IMAGE_EXTENSIONS, LazyImages, read_idx, require_folder, to_tensor
from .toys import TOYS, sample_toy

DATASETS = (
    "digits",
    "fashion-mnist",
    "mnist",
    "emoji",
    "cifar10",
    "celeba",
    "folder",
    "ring",
    "grid",
)
SPLITS = ("train", "test")
DEFAULT_IMAGE_SIZE = {
    "digits": 16,
    "fashion-mnist": 32,
    "mnist": 32,
    "cifar10": 32,
    "celeba": 64,
    "folder": 64,
    "emoji": 64,
}

# Where to look besides data_dir and $DCGAN_DATA_DIR. Module-level so that tests
# (and unusual installs) can point the search elsewhere.
SYSTEM_DATA_DIRS = {"fashion-mnist": ("/usr/share/datasets/fashion-mnist",), "mnist": ()}
CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "dcgan_lib")  # torchvision's root
ENV_VAR = "DCGAN_DATA_DIR"
LAZY_THRESHOLD = 20_000  # folders with more images than this stream from disk

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# per IDX dataset: subfolders searched under a data dir, torchvision's folder, download host
_IDX_SETS = {
    "fashion-mnist": (
        ("fashion-mnist", "FashionMNIST/raw"),
        "FashionMNIST",
        ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    ),
    "mnist": (("mnist", "MNIST/raw"), "MNIST", ("ossci-datasets.s3.amazonaws.com", 443)),
}
_HINTS = {
    "emoji": "run `bash scripts/setup.sh` (it runs `npm pack emoji-datasource-twitter@16.0.0` "
    "and keeps emoji.json and img/twitter/64/ in ~/.cache/dcgan_lib/emoji), or unpack those "
    "into a folder and pass data_dir=... or set $DCGAN_DATA_DIR",
    "fashion-mnist": "install the Debian package (apt-get install dataset-fashion-mnist), or",
    "cifar10": "extract https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (the folder "
    "cifar-10-batches-py) into a folder and pass data_dir=... or set $DCGAN_DATA_DIR; "
    "or run once where a network exists (download=True).",
    "celeba": "place torchvision's CelebA layout (celeba/img_align_celeba/ and the list_*.txt "
    "files) in a folder and pass data_dir=... or set $DCGAN_DATA_DIR; the Google "
    "Drive download (download=True) often hits its quota.",
}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are in none of the places searched (the message lists them)."""


@dataclass(repr=False)
class Dataset:
    x: torch.Tensor | torch.utils.data.Dataset  # (N, C, H, W) in [-1, 1], (N, 2) points, or lazy
    y: torch.Tensor | None  # int64 labels (toys: mixture component)
    name: str
    class_names: list[str] | None
    source: str  # a path, "scikit-learn" or "synthetic"

    def __len__(self) -> int:
        return len(self.x)

    @property
    def image_shape(self) -> tuple:
        """(C, H, W) of one image, or (2,) for a toy point."""
        return tuple(self.x.shape[1:]) if torch.is_tensor(self.x) else tuple(self.x[0].shape)

    def to(self, device) -> Dataset:
        """A copy with the tensors on `device`; a lazy dataset stays where it is."""

        def move(t):
            return t.to(device) if torch.is_tensor(t) else t

        return dataclasses.replace(self, x=move(self.x), y=move(self.y))

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n={len(self)}, image_shape={self.image_shape}, "
            f"source={self.source!r})"
        )


def load_dataset(
    name: str,
    image_size: int | None = None,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    channels: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    n_points: int = 10_000,
    download: bool | None = None,
    skip_unreadable: bool = False,
) -> Dataset:
    """Load dataset `name` (one of `DATASETS`) scaled to [-1, 1].

    image_size: square side in pixels (>= 8); None uses the dataset's default
        (digits 16, MNIST-likes and CIFAR-10 32, CelebA and folders 64). Ignored for toys.
    split: "train", or "test" for the held-out images that metrics compare against.
    data_dir: a folder to search first (required for "folder").
    channels: None keeps the dataset's own; 1 or 3 converts (grey <-> RGB).
    limit: keep only the first `limit` examples (fast notebooks and tests).
    seed, n_points: the toy mixtures' sampling seed (test uses seed + 1) and size.
    download: True allows a torchvision download, False forbids it, None tries only
        when the download host answers within a few seconds.
    skip_unreadable: image folders, CelebA: skip unreadable files (counted), not fail.
    """
    key = _canonical(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be None, 1 or 3, got {channels!r}")
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    if key in TOYS:
        return _load_toy(key, split, seed, n_points, limit)
    require_folder(data_dir, f"the {key} files")  # a missing data_dir: never a silent fallback
    size = DEFAULT_IMAGE_SIZE[key] if image_size is None else image_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"image_size must be an int >= 8 (pixels per side), got {image_size!r}")
    size = int(size)
    if key == "digits":
        return _load_digits(split, size, channels, limit)
    if key == "emoji":
        return _load_emoji(split, size, channels, limit, data_dir, download)
    if key in _IDX_SETS:
        return _load_idx_set(key, split, size, channels, limit, data_dir, download)
    if key == "cifar10":
        return _load_cifar10(split, size, channels, limit, data_dir, download)
    if key == "celeba":
        return _load_celeba(split, size, channels, limit, data_dir, download, skip_unreadable)
    return _load_folder(split, size, channels, limit, data_dir, skip_unreadable)


def _canonical(name: str) -> str:
    key = str(name).lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return key


def _find_dir(
    places: list[tuple[str, str | None]], filenames: list[str], gzipped: bool = False
) -> tuple[Path | None, list[str]]:
    """The first place holding every file (also as .gz if `gzipped`), and a line per place."""
    looked = []
    for label, folder in places:
        if folder is None:  # the label already says why (e.g. "data_dir: not given")
            looked.append(label)
            continue
        missing = [f for f in filenames if not _existing(Path(folder), f, gzipped)]
        if not missing:
            return Path(folder), looked
        shown = [f + "[.gz]" if gzipped else f for f in missing]
        looked.append(f"{label}: {folder} (missing {', '.join(shown)})")
    return None, looked


def _existing(folder: Path, filename: str, gzipped: bool = True) -> Path | None:
    for candidate in (folder / filename, folder / (filename + ".gz"))[: 1 + gzipped]:
        if candidate.exists():
            return candidate
    return None


def _user_roots(data_dir) -> list[tuple[str, str | None]]:
    env = os.environ.get(ENV_VAR) or None
    return [
        (
            "data_dir: not given" if data_dir is None else "data_dir",
            None if data_dir is None else os.fspath(data_dir),
        ),
        (f"${ENV_VAR}: not set" if env is None else f"${ENV_VAR}", env),
    ]


def _download_allowed(download: bool | None, host: tuple[str, int], looked: list[str]) -> bool:
    if download is None:
        if network_available(*host):
            return True
        looked.append(f"download: skipped ({host[0]} did not answer in {NETWORK_TIMEOUT:g} s)")
        return False
    if not download:
        looked.append("download: not allowed (download=False)")
    return bool(download)


def _not_found(
    name: str, split: str, looked: list[str], hint: str, error=None
) -> DatasetNotFoundError:
    lines = "\n".join(f"  - {line}" for line in looked)
    cause = f"\nDownload failed: {error}" if error else ""
    return DatasetNotFoundError(
        f"{name} ({split}) not found. Looked in:\n{lines}{cause}\nTo get it: {hint}"
    )


def _load_toy(key, split, seed, n_points, limit) -> Dataset:
    n = min(n_points, limit) if limit else n_points
    points, component = sample_toy(key, n, seed + (split == "test"))  # test: a fresh sample
    return Dataset(points, component, key, None, "synthetic")


def _load_emoji(split, size, channels, limit, data_dir, download) -> Dataset:
    places = [*_user_roots(data_dir), ("user cache", os.path.join(CACHE_DIR, "emoji"))]
    folder, looked = find_emoji_dir(places)
    if folder is None and download is not False:  # npm pack, as scripts/setup.sh does
        try:
            folder = fetch_emoji(Path(CACHE_DIR) / "emoji")
        except (OSError, subprocess.SubprocessError) as e:
            raise _not_found("emoji", split, looked, _HINTS["emoji"], e) from None
    if folder is None:
        raise _not_found("emoji", split, looked, _HINTS["emoji"])
    images, labels, _ = read_emoji(folder, split)
    x = to_tensor(images[:limit], 255.0, size, channels)
    return Dataset(x, torch.from_numpy(labels[:limit]), "emoji", list(CATEGORIES), str(folder))


def _load_digits(split, size, channels, limit) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # a fixed seed so the test images never change between runs, machines or chapters
    train, test = train_test_split(
        np.arange(len(digits.target)), test_size=0.2, stratify=digits.target, random_state=0
    )
    index = (train if split == "train" else test)[:limit]
    x = to_tensor(digits.images[index], 16.0, size, channels)  # pixel values are 0..16
    y = torch.as_tensor(digits.target[index], dtype=torch.int64)
    return Dataset(x, y, "digits", [str(d) for d in range(10)], "scikit-learn")


def _load_idx_set(key, split, size, channels, limit, data_dir, download) -> Dataset:
    subfolders, tv_folder, host = _IDX_SETS[key]
    prefix = "train" if split == "train" else "t10k"
    files = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    places = []
    for label, root in _user_roots(data_dir):  # the folder itself, then the usual subfolders
        places.append((label, root))
        if root is not None:
            places += [(label, os.path.join(root, sub)) for sub in subfolders]
    places += [("Debian package", d) for d in SYSTEM_DATA_DIRS.get(key, ())]
    cache_raw = os.path.join(CACHE_DIR, tv_folder, "raw")
    places.append(("torchvision cache", cache_raw))
    folder, looked = _find_dir(places, files, gzipped=True)
    hint = (
        _HINTS.get(key, "") + " put the four IDX files (train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz or raw) "
        f"in a folder and pass data_dir=... or set ${ENV_VAR}; or run once where a network "
        "exists (download=True)."
    ).strip()
    if folder is None and _download_allowed(download, host, looked):
        import torchvision

        try:
            getattr(torchvision.datasets, tv_folder)(
                CACHE_DIR, train=split == "train", download=True
            )
        except Exception as err:  # torchvision raises RuntimeError, URLError, OSError...
            raise _not_found(key, split, looked, hint, err) from err
        folder = Path(cache_raw)
    if folder is None:
        raise _not_found(key, split, looked, hint)
    images, labels = (read_idx(_existing(folder, f)) for f in files)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{folder}: IDX images {images.shape} and labels {labels.shape} do not match"
        )
    classes = FASHION_CLASSES if key == "fashion-mnist" else [str(d) for d in range(10)]
    x = to_tensor(images[:limit], 255.0, size, channels)
    return Dataset(x, torch.as_tensor(labels[:limit], dtype=torch.int64), key, classes, str(folder))


def _torchvision_root(key, marker, split, data_dir, download, host) -> tuple[str, bool]:
    """The root holding torchvision's `marker` folder, and whether to download there."""
    places = _user_roots(data_dir) + [("torchvision cache", CACHE_DIR)]
    root, looked = _find_dir(places, [marker])
    if root is not None:
        return str(root), False
    if _download_allowed(download, host, looked):
        return next(folder for _, folder in places if folder is not None), True
    raise _not_found(key, split, looked, _HINTS[key])


def _load_cifar10(split, size, channels, limit, data_dir, download) -> Dataset:
    root, fetch = _torchvision_root(
        "cifar10", "cifar-10-batches-py", split, data_dir, download, ("www.cs.toronto.edu", 443)
    )
    import torchvision

    try:
        data = torchvision.datasets.CIFAR10(root, train=split == "train", download=fetch)
    except Exception as err:
        raise _not_found("cifar10", split, [f"root: {root}"], _HINTS["cifar10"], err) from err
    x = to_tensor(data.data[:limit], 255.0, size, channels)  # data: (N, 32, 32, 3) uint8
    y = torch.as_tensor(data.targets[:limit], dtype=torch.int64)
    return Dataset(x, y, "cifar10", list(data.classes), os.path.join(root, "cifar-10-batches-py"))


def _load_celeba(split, size, channels, limit, data_dir, download, skip=False) -> Dataset:
    root, fetch = _torchvision_root(
        "celeba", "celeba/img_align_celeba", split, data_dir, download, ("drive.google.com", 443)
    )
    import torchvision

    try:  # used only for the official split and the download; images are read lazily below
        data = torchvision.datasets.CelebA(root, split=split, target_type=[], download=fetch)
    except Exception as err:
        raise _not_found("celeba", split, [f"root: {root}"], _HINTS["celeba"], err) from err
    folder = Path(root, "celeba", "img_align_celeba")
    paths = [folder / f for f in data.filename[:limit]]
    # the central 178x178 face region of the 178x218 aligned image (a common crop; the DCGAN
    # paper itself trained on faces scraped from the web, not on CelebA)
    x = LazyImages(paths, size, channels or 3, crop=178, skip_unreadable=skip)
    return Dataset(x, None, "celeba", None, str(folder))


def _load_folder(split, size, channels, limit, data_dir, skip=False) -> Dataset:
    if data_dir is None:
        raise ValueError("dataset 'folder' needs data_dir=<a folder of images>")
    paths = sorted(p for p in Path(data_dir).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise DatasetNotFoundError(
            f"folder {os.fspath(data_dir)!r} holds no images "
            f"(looked recursively for {', '.join(IMAGE_EXTENSIONS)})"
        )
    # hold out a fixed 10% (seeded shuffle) so "test" images are never trained on
    order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(0)).tolist()
    n_test = max(1, round(len(paths) / 10))
    index = sorted(order[:n_test] if split == "test" else order[n_test:])[:limit]
    if not index:
        raise DatasetNotFoundError(
            f"folder {os.fspath(data_dir)!r} has too few images for a {split} split"
        )
    images = LazyImages([paths[i] for i in index], size, channels or 3, skip_unreadable=skip)
    x = images if len(images) > LAZY_THRESHOLD else images.read_all()  # names every bad file
    return Dataset(x, None, "folder", None, os.fspath(data_dir))
