"""dcgan_lib.style and dcgan_lib.textures: the losses from their formulas, the feature
networks, the optimisation, the two feed-forward networks, their bad inputs, and the
shipped style and texture checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dcgan_lib import (
    SpatialDiscriminator,
    SpatialGenerator,
    StyleNetwork,
    content_loss,
    feature_network,
    gram_matrix,
    load_trained,
    picture,
    random_crops,
    random_network,
    sample_photo,
    style_loss,
    synthesise,
    total_variation_loss,
    train_spatial_gan,
    train_style_network,
    vgg19_network,
)
from dcgan_lib.checkpoint import sha256
from dcgan_lib.style import RANDOM_LAYERS, VGG_LAYERS, content_layer, style_layers

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "checkpoints"
MANIFEST = json.loads((FOLDER / "manifest.json").read_text())["checkpoints"]
SHIPPED = {
    "style_petals64.pt": "style_network",
    "texture_petals.pt": "texture_generator",
}


@pytest.fixture(scope="module")
def network():
    return random_network(seed=0)


# -- the losses ------------------------------------------------------------------------


def test_gram_matrix_of_a_constant_map_and_its_invariances():
    levels = torch.tensor([1.0, -2.0, 3.0])
    constant = levels.view(1, 3, 1, 1).expand(2, 3, 5, 7)
    assert torch.allclose(gram_matrix(constant), torch.outer(levels, levels).expand(2, 3, 3))
    x = torch.randn(2, 4, 6, 6)
    g = gram_matrix(x)
    assert g.shape == (2, 4, 4) and torch.allclose(g, g.transpose(1, 2))
    shuffled = x.flatten(2)[..., torch.randperm(36)].view_as(x)
    assert torch.allclose(gram_matrix(shuffled), g, atol=1e-5)  # where is thrown away
    tiled = x.repeat(1, 1, 2, 3)  # a larger picture of the same texture: the same Gram
    assert torch.allclose(gram_matrix(tiled), g, atol=1e-5)


def test_style_and_content_losses_from_their_formulas():
    f = {"a": torch.randn(1, 2, 4, 4), "b": torch.randn(1, 3, 2, 2)}
    targets = {"a": gram_matrix(f["a"]) + 0.5, "b": gram_matrix(f["b"]) - 1.0}
    assert abs(float(style_loss(f, targets, {"a": 2.0, "b": 3.0})) - 3.5) < 1e-5
    assert abs(float(style_loss(f, targets)) - (0.25 + 1.0) / 2) < 1e-5  # equal weights
    y = torch.randn(1, 4, 3, 3)
    assert abs(float(content_loss(y + 2, y)) - 4.0) < 1e-5


def test_total_variation_counts_both_directions():
    ramp = (torch.arange(8.0) * 0.5).view(1, 1, 1, 8).expand(1, 3, 8, 8)
    assert abs(float(total_variation_loss(ramp)) - 0.25) < 1e-6
    assert abs(float(total_variation_loss(ramp.transpose(-1, -2))) - 0.25) < 1e-6
    assert float(total_variation_loss(torch.zeros(1, 3, 4, 4))) == 0


# -- the feature networks ---------------------------------------------------------------


def test_random_network_is_seeded_frozen_and_multi_scale(network):
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    f = network(x)
    assert tuple(f) == RANDOM_LAYERS
    assert [tuple(v.shape[1:]) for v in f.values()] == [
        (3, 32, 32),
        (32, 32, 32),
        (64, 16, 16),
        (128, 8, 8),
        (128, 4, 4),
    ]
    again = random_network(seed=0)(x)
    assert all(torch.equal(f[k], again[k]) for k in f)
    assert not any(p.requires_grad for p in network.parameters())
    flat = network(torch.full((1, 3, 32, 32), 0.4), ["relu1"])["relu1"]
    assert flat.abs().max() < 1e-4  # zero-mean filters, replicated borders: flat excites none
    assert "random" in network.name and content_layer(network) == "relu3"


def test_vgg19_layers_without_downloading(monkeypatch):
    vgg = vgg19_network(pretrained=False)
    f = vgg(torch.zeros(1, 3, 16, 16))
    assert tuple(f) == tuple(VGG_LAYERS) and f["relu4_2"].shape == (1, 512, 2, 2)
    assert style_layers(vgg)[0] == "relu1_1" and content_layer(vgg) == "relu4_2"
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in vgg.body)  # average pooling
    monkeypatch.setattr("dcgan_lib.style.vgg19_weights_available", lambda: False)
    assert "random" in feature_network("auto").name  # offline: the random network


def test_photos_and_pictures():
    x = sample_photo("china.jpg", 32)
    assert x.shape == (1, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert picture("china-wide", (16, 24)).shape == (1, 3, 16, 24)


# -- optimisation and the feed-forward networks -----------------------------------------


def test_texture_synthesis_lowers_the_style_loss(network):
    style = picture("petals", 32)
    for optimiser in ("lbfgs", "adam"):
        r = synthesise(network, style=style, steps=15, optimiser=optimiser)
        assert r.image.shape == (1, 3, 32, 32) and r.image.abs().max() <= 1
        assert r.style < 0.5 * r.losses[0], optimiser
        assert r.network == network.name and r.seconds > 0


def test_transfer_trades_content_for_style(network):
    content, style = picture("china", 32), picture("petals", 32)
    low, high = (
        synthesise(network, content, style, style_weight=w, steps=15, init="content")
        for w in (0.1, 100.0)
    )
    assert high.style < low.style and high.content > low.content


def test_style_network_and_spatial_gan_train_and_keep_shapes(network):
    g = torch.Generator().manual_seed(0)
    contents = random_crops(picture("china-wide", (32, 48)), 16, 8, g)
    assert contents.shape == (8, 3, 16, 16)
    net = StyleNetwork(widths=(4, 8, 8), blocks=1)
    history = train_style_network(net, network, picture("petals", 16), contents, steps=3)
    assert len(history["loss"]) == 3 and net(contents[:2]).shape == (2, 3, 16, 16)
    G, D = SpatialGenerator(latent_dim=4, width=8, stages=3), SpatialDiscriminator(8, 3)
    history = train_spatial_gan(G, D, picture("petals", 32), crop_size=16, steps=2, batch_size=2)
    assert len(history["loss_d"]) == 2
    with torch.no_grad():  # any size: more noise positions, a larger texture
        assert G(G.noise(1, 64)).shape == (1, 3, 64, 64)
        assert D(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 4, 4)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: gram_matrix(torch.zeros(3, 4, 4)), "(B, C, H, W)"),
        (lambda: content_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4)), "same layer"),
        (lambda: style_loss({"a": torch.zeros(1, 2, 2, 2)}, {"b": torch.zeros(1, 2, 2)}), "b"),
        (lambda: total_variation_loss(torch.zeros(4, 4)), "(B, C, H, W)"),
        (lambda: feature_network("vgg16"), "choose"),
        (lambda: sample_photo("lena.jpg"), "china.jpg"),
        (lambda: sample_photo("china.jpg", crop=(400, 0, 100, 100)), "outside"),
        (lambda: picture("mona-lisa"), "petals"),
        (lambda: random_network(widths=(8, 8)), "stages"),
        (lambda: synthesise(random_network()), "content image"),
        (lambda: synthesise(random_network(), style=torch.zeros(1, 3, 8, 8), steps=0), "steps"),
        (
            lambda: synthesise(random_network(), style=torch.zeros(1, 3, 8, 8), optimiser="sgd"),
            "lbfgs",
        ),
        (
            lambda: synthesise(random_network(), style=torch.zeros(1, 3, 8, 8), init="content"),
            "needs",
        ),
        (lambda: random_network()(torch.zeros(1, 3, 8, 8), ["conv9"]), "no layer"),
        (lambda: StyleNetwork()(torch.zeros(1, 3, 10, 10)), "multiples of 4"),
        (lambda: SpatialGenerator()(torch.zeros(1, 3, 2, 2)), "noise"),
        (lambda: SpatialGenerator().noise(1, 20), "multiple of 16"),
        (lambda: random_crops(torch.zeros(1, 3, 8, 8), 16, 1, torch.Generator()), "larger"),
        (lambda: load_trained(FOLDER / "style_petals64.pt", "generator"), "choose"),
    ],
)
def test_bad_inputs_say_what_is_wrong(call, words):
    with pytest.raises(ValueError, match=None) as error:
        call()
    assert words in str(error.value) and "\n" not in str(error.value)


# -- the shipped networks ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_network_loads_and_matches_its_manifest(name):
    entry = MANIFEST[name]
    path = FOLDER / name
    assert sha256(path) == entry["sha256"] and path.stat().st_size == entry["size_bytes"]
    assert entry["commands"][0].startswith("python -m dcgan_lib train-")
    assert all(entry.get(k) not in (None, "") for k in ("seed", "data", "hardware", "wall_time_s"))
    model, record = load_trained(path, SHIPPED[name])
    assert record["steps"] == entry["steps"] and len(record["history"]) >= 2
    state = torch.load(path, weights_only=True)
    assert all(v.dtype != torch.float32 for v in state[SHIPPED[name]]["state_dict"].values())
    with torch.no_grad():
        if name.startswith("style_"):
            y = model(picture("china", 32))
            assert y.shape == (1, 3, 32, 32) and "random" in record["features"]
        else:
            y = model(model.noise(1, 48))
            assert y.shape == (1, 3, 48, 48)
    assert torch.isfinite(y).all() and y.abs().max() <= 1


def test_shipped_style_and_texture_files_are_small():
    total = sum((FOLDER / name).stat().st_size for name in SHIPPED)
    assert total < 3e6, f"the style and texture checkpoints take {total / 1e6:.1f} MB"


def test_command_line_trains_and_refuses_bad_flags(tmp_path, capsys):
    from dcgan_lib.cli import main

    out = tmp_path / "texture.pt"
    assert main(["train-texture", "--steps", "1", "--size", "32", "--crop", "16",
                 "--batch-size", "2", "--out", str(out)]) == 0  # fmt: skip
    model, record = load_trained(out, "texture_generator")
    assert record["steps"] == 1 and record["command"].startswith("python -m dcgan_lib")
    assert main(["train-texture", "--crop", "20", "--out", str(out)]) == 1
    assert "--crop must be a multiple of 16" in capsys.readouterr().err
    assert main(["train-style", "--size", "30", "--out", str(tmp_path / "s.pt")]) == 1
    assert "--size must be a multiple of 4" in capsys.readouterr().err
