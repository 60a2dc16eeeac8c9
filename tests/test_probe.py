"""The discriminator's features (dcgan_lib/probe.py): shapes, max pooling, the order of the
features, subsets, the linear probe, receptive fields and top patches; the export that keeps
the discriminator only."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from dcgan_lib import (
    DiscriminatorClassifier,
    Generator,
    balanced_subset,
    class_purity,
    discriminator_features,
    export_checkpoint,
    hidden_maps,
    linear_probe,
    load_checkpoint,
    load_model,
    make_pair,
    pool_to_grid,
    receptive_field,
    save_checkpoint,
    top_patches,
)
from dcgan_lib.checkpoint import CheckpointError, pack_model


@pytest.fixture(scope="module")
def discriminator():
    return make_pair("dcgan", (1, 32, 32), width=8, seed=0)[1].eval()


def test_hidden_maps_are_the_three_stages(discriminator):
    maps = hidden_maps(discriminator, torch.randn(2, 1, 32, 32))
    assert [tuple(m.shape) for m in maps] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4)]


def test_pool_to_grid_max_pools_in_layer_then_channel_row_column_order():
    a = torch.arange(2 * 1 * 4 * 4, dtype=torch.float).view(2, 1, 4, 4)
    b = torch.randn(2, 3, 2, 2)
    out = pool_to_grid([a, b], grid=2)
    assert out.shape == (2, 1 * 4 + 3 * 4)
    # a's 2x2 cells hold (0, 1, 4, 5), (2, 3, 6, 7), ...: their maxima 5, 7, 13, 15
    assert out[0, :4].tolist() == [5.0, 7.0, 13.0, 15.0]
    assert torch.equal(out[:, 4:], b.flatten(1))  # already 2x2: unchanged, (C, row, col) order


@pytest.mark.parametrize("grid", [0, 2.0, True])
def test_pool_to_grid_refuses_a_bad_grid(grid):
    with pytest.raises(ValueError, match="grid must be a positive int"):
        pool_to_grid([torch.randn(1, 1, 4, 4)], grid)


def test_pool_to_grid_refuses_maps_smaller_than_the_grid():
    with pytest.raises(ValueError, match="smaller than the 8x8 grid"):
        pool_to_grid([torch.randn(1, 1, 4, 4)], 8)


def test_discriminator_features_in_batches_equal_one_pass(discriminator):
    x = torch.rand(7, 1, 32, 32) * 2 - 1
    whole = pool_to_grid(hidden_maps(discriminator, x), 4)
    batched = discriminator_features(discriminator, x, grid=4, batch_size=3)
    assert batched.shape == (7, 16 * (8 + 16 + 32))
    assert torch.allclose(batched, whole, atol=1e-6)


def test_discriminator_features_keep_the_mode_and_refuse_wrong_images(discriminator):
    discriminator.train()
    discriminator_features(discriminator, torch.zeros(2, 1, 32, 32))
    assert discriminator.training
    discriminator.eval()
    with pytest.raises(ValueError, match=r"images must be \(n, 1, 32, 32\)"):
        discriminator_features(discriminator, torch.zeros(2, 3, 32, 32))


def test_features_refuse_a_generator():
    with pytest.raises(ValueError, match="expected a dcgan_lib Discriminator"):
        hidden_maps(Generator(8, 32, 1, 8), torch.zeros(1, 8))


def test_balanced_subset():
    labels = torch.tensor([0] * 50 + [1] * 20 + [2] * 30)
    a, b, c = (
        balanced_subset(labels, 30, 1),
        balanced_subset(labels, 30, 1),
        balanced_subset(labels, 30, 2),
    )
    assert torch.equal(a, b) and not torch.equal(a.sort().values, c.sort().values)
    assert torch.bincount(labels[a]).tolist() == [10, 10, 10] and len(set(a.tolist())) == 30
    assert torch.equal(balanced_subset(labels, 100, 0), torch.arange(100))
    for n, says in ((31, "multiple of the 3 classes"), (2, "from 3"), (75, "only 20")):
        with pytest.raises(ValueError, match=says):
            balanced_subset(labels, n, 0)


def test_linear_probe_separates_separable_data_and_checks_shapes():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    x = torch.randn(200, 5, generator=g) + 3 * y[:, None]
    r = linear_probe(x[:100], y[:100], x[100:], y[100:], C=1.0)
    assert r["accuracy"] > 0.95 and r["dims"] == 5 and r["n_train"] == 100
    with pytest.raises(ValueError, match="the same d for train and test"):
        linear_probe(x[:100], y[:100], x[100:, :4], y[100:])
    with pytest.raises(ValueError, match="C must be positive"):
        linear_probe(x[:100], y[:100], x[100:], y[100:], C=0)


def test_discriminator_classifier_has_the_discriminators_stages():
    model = DiscriminatorClassifier(32, 1, 8, 10)
    assert model(torch.zeros(3, 1, 32, 32)).shape == (3, 10)
    d = make_pair("dcgan", (1, 32, 32), width=8)[1]
    body = [type(m) for m in d.net][:-1]
    assert [type(m) for m in model.net][:-1] == body


def test_receptive_fields_of_the_32x32_discriminator(discriminator):
    # 4x4 kernels, stride 2, padding 1: 4, then 4 + 3*2 = 10, then 10 + 3*4 = 22
    assert [receptive_field(discriminator, i) for i in range(3)] == [
        (4, 2, -1),
        (10, 4, -3),
        (22, 8, -7),
    ]
    with pytest.raises(ValueError, match="layer must be from 0 to 2"):
        receptive_field(discriminator, 3)


def test_top_patches_crop_the_receptive_field_of_the_peak(discriminator):
    x = torch.rand(20, 1, 32, 32) * 2 - 1
    out = top_patches(discriminator, x, layer=1, units=[0, 3], k=4)
    assert out["patches"].shape == (2, 4, 1, 10, 10) and out["size"] == 10
    maps = hidden_maps(discriminator, x)[1]
    peak = maps[:, 3].flatten(1).max(1).values
    assert torch.allclose(out["values"][1], peak.sort(descending=True).values[:4])
    n = int(out["images"][1, 0])
    row, col = divmod(int(maps[n, 3].flatten().argmax()), 8)
    padded = F.pad(x[n], (10,) * 4, value=-1.0)
    top, left = -3 + 4 * row + 10, -3 + 4 * col + 10
    assert torch.equal(out["patches"][1, 0], padded[:, top : top + 10, left : left + 10])
    assert len(top_patches(discriminator, x, layer=0, units=3, k=2)["units"]) == 3


def test_export_keeps_the_discriminator_only(tmp_path):
    g, d = make_pair("dcgan", (1, 32, 32), width=8, seed=0)
    src = save_checkpoint(
        tmp_path / "run.pt",
        {"generator": pack_model(g), "discriminator": pack_model(d), "step": 3, "meta": {}},
    )
    out = export_checkpoint(src, tmp_path / "d.pt", half=True, discriminator_only=True)
    state = load_checkpoint(out)
    assert "generator" not in state and "discriminator" in state
    assert torch.allclose(
        load_model(out, "discriminator").float().net[0].weight, d.net[0].weight, atol=1e-3
    )
    with pytest.raises(CheckpointError, match="holds no generator"):
        load_model(out, "generator")
    with pytest.raises(ValueError, match="not both"):
        export_checkpoint(src, tmp_path / "x.pt", generator_only=True, discriminator_only=True)
    cli = [sys.executable, "-m", "dcgan_lib", "export", "--checkpoint", str(src)]
    run = subprocess.run(
        [*cli, "--out", str(tmp_path / "cli.pt"), "--discriminator-only"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "generator" not in load_checkpoint(tmp_path / "cli.pt")


def test_class_purity_counts_the_top_images_common_class(discriminator):
    x = torch.rand(40, 1, 32, 32) * 2 - 1
    labels = torch.arange(40) % 4
    purity = class_purity(discriminator, x, labels, k=8, batch_size=16)
    assert len(purity) == 3
    top = top_patches(discriminator, x, 2, units=list(range(32)), k=8)["images"]
    classes = labels[top]
    expected = (classes == classes.mode(1).values[:, None]).float().mean().item()
    assert abs(purity[2] - expected) < 1e-6 and all(0.25 <= p <= 1 for p in purity)
    assert class_purity(discriminator, x, torch.zeros(40, dtype=torch.long), k=8) == [1.0] * 3
    with pytest.raises(ValueError, match="one label per image"):
        class_purity(discriminator, x, labels[:10])
