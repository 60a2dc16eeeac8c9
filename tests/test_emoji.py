"""The emoji data set: composited on white, labelled by category, a fixed split, found
where setup put it, and a clear error naming every place looked when it is absent."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lib import data, load_dataset
from dcgan_lib.emoji import CATEGORIES, IMAGES, _in_test, is_emoji_dir, read_emoji


def _fake_emoji(folder, names):
    (folder / IMAGES).mkdir(parents=True)
    entries = []
    for i, name in enumerate(names):
        rgba = np.zeros((64, 64, 4), np.uint8)
        rgba[16:48, 16:48] = (200, 30, 30, 255)  # an opaque red square on a transparent field
        Image.fromarray(rgba).save(folder / IMAGES / name)
        entries.append({"image": name, "category": CATEGORIES[i % 3], "skin_variations": {}})
    (folder / "emoji.json").write_text(json.dumps(entries))
    return folder


def test_read_emoji_composites_on_white_with_labels_and_a_fixed_split(tmp_path):
    names = [f"{i:04x}.png" for i in range(40)]
    folder = _fake_emoji(tmp_path / "emoji", names)
    assert is_emoji_dir(folder)
    train, test = read_emoji(folder, "train"), read_emoji(folder, "test")
    assert len(train[0]) + len(test[0]) == 40 and len(test[0]) >= 1
    assert set(test[2]) == {n for n in names if _in_test(n)}  # decided by the name alone
    images, labels, files = train
    assert images.shape[1:] == (64, 64, 3) and images.dtype == np.uint8
    assert (images[:, 0, 0] == 255).all()  # transparent background -> white, not black
    assert (images[:, 32, 32] == (200, 30, 30)).all()
    assert [CATEGORIES[c] for c in labels] == [CATEGORIES[names.index(f) % 3] for f in files]


def test_load_dataset_emoji_from_data_dir(tmp_path):
    folder = _fake_emoji(tmp_path / "emoji", [f"{i:04x}.png" for i in range(30)])
    ds = load_dataset("emoji", data_dir=tmp_path, download=False)
    assert ds.x.shape[1:] == (3, 64, 64) and ds.x.min() >= -1 and ds.x.max() <= 1
    assert ds.x[0, :, 0, 0].tolist() == [1.0, 1.0, 1.0] and ds.y.dtype == torch.int64
    assert ds.class_names == CATEGORIES and ds.source == str(folder)
    small = load_dataset("emoji", image_size=16, channels=1, data_dir=folder, download=False)
    assert small.x.shape[1:] == (1, 16, 16)


def test_missing_emoji_names_every_place_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DatasetNotFoundError) as err:
        load_dataset("emoji", data_dir=tmp_path / "empty", download=False)
    message = str(err.value)
    assert str(tmp_path / "empty") in message and str(tmp_path / "cache") in message
    assert "scripts/setup.sh" in message and "npm pack emoji-datasource-twitter@16.0.0" in message


def test_the_installed_emoji_set_when_setup_has_run():
    try:
        ds = load_dataset("emoji", split="test", download=False)
    except data.DatasetNotFoundError:
        pytest.skip("the emoji images are not installed (run scripts/setup.sh)")
    assert len(ds) > 300 and ds.x.shape[1:] == (3, 64, 64)
    assert int(ds.y.max()) < len(CATEGORIES) and len(set(ds.y.tolist())) >= 9
