"""Tests of dcgan_lib.data: shapes, ranges, splits, file search and its errors."""

import gzip
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan_lib import data
from dcgan_lib.data import DatasetNotFoundError, load_dataset, read_idx
from dcgan_lib.toys import toy_mixture

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write `array` (uint8) as an IDX file, the way the MNIST files are laid out."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_tiny_mnist(folder: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """The four IDX files with tiny random 28x28 images; labels 0..n-1 (mod 10)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28)),
            compress=True,
        )
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return folder


@pytest.fixture
def no_default_dirs(monkeypatch, tmp_path):
    """Point every default search place at empty folders and forbid the network."""
    monkeypatch.setattr(data, "SYSTEM_DATA_DIRS", {"fashion-mnist": (str(tmp_path / "debian"),)})
    monkeypatch.setattr(data, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "network_available", lambda host, port: False)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    return tmp_path


# ---------------------------------------------------------------- digits


def test_digits_shapes_range_and_labels():
    ds = load_dataset("digits")
    assert ds.x.shape == (1437, 1, 16, 16) and ds.x.dtype == torch.float32
    assert ds.x.min() == -1 and ds.x.max() == 1
    assert ds.y.dtype == torch.int64 and set(ds.y.tolist()) == set(range(10))
    assert ds.class_names == [str(d) for d in range(10)] and ds.source == "scikit-learn"
    assert len(ds) == 1437 and ds.image_shape == (1, 16, 16)


def test_digits_split_is_disjoint_stratified_and_deterministic():
    train = load_dataset("digits", image_size=8)
    test = load_dataset("digits", image_size=8, split="test")
    assert (len(train), len(test)) == (1437, 360)
    # at native size each image is exactly its pixels: no test image appears in train
    train_rows = {tuple(row) for row in train.x.flatten(1).tolist()}
    overlap = sum(tuple(row) in train_rows for row in test.x.flatten(1).tolist())
    assert overlap == 0
    assert torch.bincount(test.y).min() >= 35  # stratified: every class ~36 times
    again = load_dataset("digits", image_size=8, split="test")
    assert torch.equal(again.x, test.x) and torch.equal(again.y, test.y)


def test_limit_keeps_the_first_examples():
    full, few = load_dataset("digits"), load_dataset("digits", limit=10)
    assert len(few) == 10 and torch.equal(few.x, full.x[:10]) and torch.equal(few.y, full.y[:10])


def test_channels_conversion():
    grey = load_dataset("digits", limit=5)
    rgb = load_dataset("digits", limit=5, channels=3)
    assert rgb.x.shape == (5, 3, 16, 16)
    assert torch.equal(rgb.x[:, 0], grey.x[:, 0]) and torch.equal(rgb.x[:, 2], grey.x[:, 0])
    # RGB -> grey uses luminance weights that sum to 1, so grey -> RGB -> grey is lossless
    back = data.to_tensor(((rgb.x + 1) / 2).permute(0, 2, 3, 1).numpy(), 1.0, 16, 1)
    assert torch.allclose(back, grey.x, atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        load_dataset("digits", channels=2)


@pytest.mark.parametrize("size", [8, 32, 64])
def test_image_size_resizes(size):
    ds = load_dataset("digits", image_size=size, limit=4)
    assert ds.x.shape == (4, 1, size, size)
    assert ds.x.min() >= -1 and ds.x.max() <= 1


@pytest.mark.parametrize("bad", [4, 7, 0, -16, 16.0, "32", True])
def test_invalid_image_size(bad):
    with pytest.raises(ValueError, match="image_size must be an int >= 8"):
        load_dataset("digits", image_size=bad)


def test_unknown_name_and_split():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'; choose one of:") as info:
        load_dataset("svhn")
    assert all(name in str(info.value) for name in data.DATASETS)
    with pytest.raises(ValueError, match="train, test"):
        load_dataset("digits", split="valid")


def test_names_are_case_and_separator_insensitive():
    assert load_dataset("DIGITS", limit=2).name == "digits"
    assert load_dataset("Ring", n_points=3).name == "ring"


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    path = write_idx(tmp_path / ("x.gz" if compress else "x"), array, compress)
    result = read_idx(path)
    assert result.dtype == np.uint8 and np.array_equal(result, array)


def test_read_idx_big_endian_int32(tmp_path):
    values = np.array([1, -2, 70000], dtype=">i4")
    path = tmp_path / "ints"
    path.write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + values.tobytes())
    assert read_idx(path).tolist() == [1, -2, 70000]


def test_read_idx_truncated_and_damaged_files(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((4, 28, 28)))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"truncated IDX file: shape \(4, 28, 28\) needs 3136"):
        read_idx(path)
    gz = write_idx(tmp_path / "x.gz", np.zeros((4, 28, 28)), compress=True)
    gz.write_bytes(gz.read_bytes()[:-12])
    with pytest.raises(ValueError, match="truncated gzip"):
        read_idx(gz)
    (tmp_path / "text").write_bytes(b"hello, world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "text")


def test_fashion_mnist_from_debian_package(monkeypatch):
    if not DEBIAN_DIR.is_dir():
        pytest.skip(f"{DEBIAN_DIR} absent: apt-get install dataset-fashion-mnist")
    monkeypatch.delenv(data.ENV_VAR, raising=False)  # so the Debian folder is the first hit
    ds = load_dataset("fashion-mnist", limit=50, download=False)
    assert ds.x.shape == (50, 1, 32, 32) and ds.y.shape == (50,)
    assert -1 <= ds.x.min() < ds.x.max() <= 1
    assert ds.source == str(DEBIAN_DIR)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    # the first training label of the official file is 9 (ankle boot), first test label 9 too
    assert ds.y[0] == 9
    test = load_dataset("fashion_mnist", split="test", limit=3, image_size=28, download=False)
    assert test.x.shape == (3, 1, 28, 28) and test.y.tolist() == [9, 2, 1]


def test_data_dir_argument_and_env_var(tmp_path, monkeypatch, no_default_dirs):
    direct = write_tiny_mnist(tmp_path / "given")
    ds = load_dataset("mnist", data_dir=direct, image_size=8)
    assert ds.x.shape == (6, 1, 8, 8) and ds.y.tolist() == [0, 1, 2, 3, 4, 5]
    assert ds.source == str(direct)
    # $DCGAN_DATA_DIR, with the files in torchvision's layout below it
    nested = write_tiny_mnist(tmp_path / "env" / "FashionMNIST" / "raw")
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    ds = load_dataset("fashion-mnist", split="test")
    assert len(ds) == 4 and ds.source == str(nested)


def test_missing_dataset_fails_fast_naming_places(tmp_path, monkeypatch, no_default_dirs):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "elsewhere"))
    (tmp_path / "mine").mkdir()  # a folder that exists but holds no data (a missing one: refused)
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path / "mine")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    for place in ("mine", "elsewhere", "debian", "cache", "FashionMNIST/raw", "download"):
        assert place in message, place
    assert "apt-get install dataset-fashion-mnist" in message and "DCGAN_DATA_DIR" in message
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("name", ["mnist", "cifar10", "celeba"])
def test_missing_torchvision_sets_fail_fast(name, no_default_dirs):
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError, match="not set"):
        load_dataset(name)
    assert time.perf_counter() - start < 5


# ---------------------------------------------------------------- image folders


def write_pngs(folder: Path, sizes) -> None:
    from PIL import Image

    for i, (w, h) in enumerate(sizes):
        sub = folder / ("a" if i % 2 else "b")  # recursive search
        sub.mkdir(parents=True, exist_ok=True)
        pixels = np.full((h, w, 3), 20 * i, dtype=np.uint8)
        pixels[:, : w // 2] = 255  # left half white: centre crops must keep both halves
        Image.fromarray(pixels).save(sub / f"img{i}.png")


def test_folder_loader(tmp_path):
    write_pngs(
        tmp_path,
        [
            (40, 30),
            (30, 40),
            (20, 20),
            (64, 48),
            (50, 50),
            (33, 33),
            (16, 24),
            (40, 40),
            (20, 30),
            (30, 20),
            (12, 12),
            (90, 60),
        ],
    )
    (tmp_path / "notes.txt").write_text("not an image")
    train = load_dataset("folder", data_dir=tmp_path, image_size=16)
    test = load_dataset("folder", data_dir=tmp_path, image_size=16, split="test")
    assert train.x.shape == (11, 3, 16, 16) and test.x.shape == (1, 3, 16, 16)
    assert train.y is None and train.source == str(tmp_path)
    assert train.x.min() >= -1 and train.x.max() == 1
    grey = load_dataset("folder", data_dir=tmp_path, image_size=8, channels=1, limit=3)
    assert grey.x.shape == (3, 1, 8, 8)
    again = load_dataset("folder", data_dir=tmp_path, image_size=16, split="test")
    assert torch.equal(again.x, test.x)


def test_large_folder_is_lazy(tmp_path, monkeypatch):
    write_pngs(tmp_path, [(20, 20)] * 5)
    monkeypatch.setattr(data, "LAZY_THRESHOLD", 2)
    ds = load_dataset("folder", data_dir=tmp_path, image_size=8)
    assert not torch.is_tensor(ds.x) and len(ds) == 4 and ds.image_shape == (3, 8, 8)
    assert ds.to("cpu").x is ds.x
    assert ds.x[0].dtype == torch.float32 and ds.x[0].abs().max() <= 1


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset("folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="holds no images"):
        load_dataset("folder", data_dir=tmp_path / "empty")


# ---------------------------------------------------------------- toy mixtures


@pytest.mark.parametrize("name, k, std", [("ring", 8, 0.02), ("grid", 25, 0.05)])
def test_toy_mixtures(name, k, std):
    centres, s = toy_mixture(name)
    assert centres.shape == (k, 2) and s == std
    ds = load_dataset(name, n_points=2000)
    assert ds.x.shape == (2000, 2) and ds.image_shape == (2,) and ds.source == "synthetic"
    assert set(ds.y.tolist()) == set(range(k))
    # every point lies near its own component's centre (4 std along each axis)
    assert (ds.x - centres[ds.y]).norm(dim=1).max() < 4 * std * 2**0.5
    assert torch.equal(ds.x, load_dataset(name, n_points=2000).x)
    assert not torch.equal(ds.x, load_dataset(name, n_points=2000, seed=1).x)
    assert not torch.equal(ds.x, load_dataset(name, n_points=2000, split="test").x)
    assert len(load_dataset(name, limit=7)) == 7


def test_toy_centres_geometry():
    ring, _ = toy_mixture("ring")
    assert torch.allclose(ring.norm(dim=1), torch.full((8,), 2.0))
    grid, _ = toy_mixture("grid")
    assert sorted(set(grid[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    with pytest.raises(ValueError):
        toy_mixture("digits")


def test_to_device_moves_tensors():
    ds = load_dataset("ring", n_points=10).to("cpu")
    assert ds.x.device.type == "cpu" and ds.y.device.type == "cpu" and ds.name == "ring"
