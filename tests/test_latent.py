"""The latent-space helpers (dcgan_lib.latent, latent_maps, latent_view) on small untrained
generators of two shapes (16x16 grey, 64x64 colour) and a small random classifier."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from dcgan_lib import (  # noqa: E402
    AuthorsGenerator,
    FeatureExtractor,
    Generator,
    class_feature_maps,
    class_latents,
    class_mean_latents,
    concept_arithmetic,
    drop_feature_maps,
    explorer_figure,
    forgetting,
    hidden_layers,
    latent_explorer,
    latent_path,
    lerp,
    map_activations,
    midpoint_report,
    plot_latent_rows,
    sample_generator,
    slerp,
    walk_report,
)


def _generator(size=16, channels=1):
    torch.manual_seed(0)
    return Generator(latent_dim=16, image_size=size, channels=channels, width=8).eval()


def _classifier():
    """Four classes: the brightest quadrant of the image (an untrained generator's images
    then fall into all four, where a random network would call nearly all of them one)."""
    net = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())
    return FeatureExtractor(
        "test-classifier",
        net,
        lambda x: x.mean(1, keepdim=True),  # any channels -> one
        classifier=nn.Identity(),
        class_names=[f"quadrant {i}" for i in range(4)],
    )


@pytest.fixture(params=[(16, 1), (64, 3)], ids=["16x16x1", "64x64x3"])
def generator(request):
    return _generator(*request.param)


# -- interpolation --------------------------------------------------------------------------


def test_slerp_hits_the_endpoints_and_keeps_an_equal_norm():
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(2, 100, generator=g, dtype=torch.float64)
    z0, z1 = u / u.norm() * 10, v / v.norm() * 10
    t = torch.linspace(0, 1, 11)
    path = slerp(z0, z1, t)
    assert path.shape == (11, 100)
    assert torch.allclose(path[0], z0) and torch.allclose(path[-1], z1)
    assert torch.allclose(path.norm(dim=1), torch.full((11,), 10.0, dtype=torch.float64))
    # the angle moves evenly: equal angles between consecutive points
    cos = (path[1:] * path[:-1]).sum(1) / 100
    assert torch.allclose(cos, cos[0].expand_as(cos))


def test_linear_midpoints_of_gaussian_latents_are_short():
    z = torch.randn(2, 5000, 100, generator=torch.Generator().manual_seed(0))
    ratio = lerp(z[0], z[1], 0.5).norm(dim=1).mean() / z[0].norm(dim=1).mean()
    assert abs(ratio - 1 / math.sqrt(2)) < 0.01
    ratio = slerp(z[0], z[1], 0.5).norm(dim=1).mean() / z[0].norm(dim=1).mean()
    assert abs(ratio - 1) < 0.01


def test_interpolation_shapes():
    z0, z1 = torch.randn(2, 5, 16)
    assert slerp(z0, z1, 0.3).shape == (5, 16)
    assert slerp(z0, z1, [0.0, 0.5, 1.0]).shape == (3, 5, 16)
    assert lerp(z0[0], z1[0], torch.linspace(0, 1, 4)).shape == (4, 16)
    assert torch.allclose(slerp(z0, z1, [0.0, 1.0])[1], z1, atol=1e-5)


def test_slerp_of_parallel_latents_is_linear():
    z0 = torch.randn(16)
    assert torch.allclose(slerp(z0, 2 * z0, 0.5), 1.5 * z0, atol=1e-5)


@pytest.mark.parametrize(
    "z0, z1, says",
    [
        (torch.ones(4), -torch.ones(4), "opposite directions"),
        (torch.ones(4), torch.ones(5), "same shape"),
        (torch.ones(2, 2, 2), torch.ones(2, 2, 2), "same shape"),
    ],
)
def test_slerp_refuses_bad_pairs(z0, z1, says):
    with pytest.raises(ValueError, match=says):
        slerp(z0, z1, 0.5)


def test_latent_path_passes_through_each_key_point():
    keys = torch.randn(4, 16)
    path = latent_path(keys, steps=5)
    assert path.shape == (16, 16)
    for i in range(4):
        assert torch.allclose(path[5 * i], keys[i], atol=1e-5)
    with pytest.raises(ValueError, match="method"):
        latent_path(keys, 5, "cubic")
    with pytest.raises(ValueError, match="steps"):
        latent_path(keys, 0)
    with pytest.raises(ValueError, match="K >= 2"):
        latent_path(keys[:1], 5)


# -- walks, midpoints, arithmetic ----------------------------------------------------------------


def test_walk_report(generator):
    extractor = _classifier()
    train = sample_generator(generator, 20, seed=3)
    path = latent_path(torch.randn(3, 16), 4)
    report = walk_report(generator, path, extractor, train)
    n = len(path)
    assert report["frames"].shape[0] == n
    assert report["pixel_steps"].shape == (n - 1,) and report["feature_steps"].shape == (n - 1,)
    assert report["classes"].shape == (n,) and 0 <= report["class_changes"] <= n - 1
    assert report["nearest"].shape == (n,) and int(report["nearest"].max()) < len(train)
    same = walk_report(generator, path, extractor, train_features=extractor(train))
    assert torch.equal(same["nearest"], report["nearest"])
    with pytest.raises(ValueError, match="train="):
        walk_report(generator, path, extractor)


def test_a_walk_onto_training_images_finds_them():
    generator, extractor = _generator(), _classifier()
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(4))
    train = sample_generator(generator, z=z)  # the key points' own images
    report = walk_report(generator, latent_path(z, 2), extractor, train)
    assert report["nearest"][::2].tolist() == [0, 1, 2]
    assert report["nearest_distances"][::2].max() < 1e-4


def test_midpoint_report():
    generator, extractor = _generator(), _classifier()
    z = torch.randn(2, 50, 16)
    report = midpoint_report(generator, extractor, z[0], z[1])
    assert set(report) == {"endpoint", "linear", "spherical"}
    assert report["linear"]["norm"] < report["spherical"]["norm"]
    assert all(0 < r["confidence"] <= 1 for r in report.values())


def test_class_latents_and_means(generator):
    extractor = _classifier()
    z, labels = class_latents(generator, extractor, 64, seed=0)
    assert z.shape == (64, 16) and labels.shape == (64,)
    z2, labels2 = class_latents(generator, extractor, 64, seed=0)
    assert torch.equal(z, z2) and torch.equal(labels, labels2)
    means = class_mean_latents(z, labels, 4)
    present = torch.bincount(labels, minlength=4) > 0
    assert torch.isfinite(means[present]).all() and torch.isnan(means[~present]).all()
    assert torch.allclose(
        means[present].norm(dim=1), z.norm(dim=1).mean().expand(int(present.sum()))
    )


def test_concept_arithmetic_rates():
    generator, extractor = _generator(), _classifier()
    z, labels = class_latents(generator, extractor, 200, seed=0)
    out = concept_arithmetic(generator, extractor, z, labels, trials=20)
    for key in ("hit", "random_hit", "source_kept", "mean_hit"):
        assert 0 <= out[key] <= 1
    assert (out["target"] != out["source"]).all() and len(out["arith"]) == 20
    # three means of three independent N(0, I) latents: the norm of one latent
    assert abs(out["arith_norm"] - 4) < 1 and abs(out["target_only_norm"] - 4 / 3**0.5) < 0.6


def test_concept_arithmetic_needs_two_classes():
    generator, extractor = _generator(), _classifier()
    z = torch.randn(10, 16)
    with pytest.raises(ValueError, match="two classes"):
        concept_arithmetic(generator, extractor, z, torch.zeros(10, dtype=torch.long))


def test_a_non_classifier_extractor_is_refused():
    pixels = FeatureExtractor("pixels", nn.Identity(), lambda x: x)
    with pytest.raises(ValueError, match="classifier FeatureExtractor"):
        class_latents(_generator(), pixels, 10)


# -- feature maps --------------------------------------------------------------------------


def test_hidden_layers_of_both_generators():
    assert len(hidden_layers(_generator(32))) == 3
    authors = AuthorsGenerator(latent_dim=16, image_size=32, channels=1, width=8)
    assert len(hidden_layers(authors)) >= 2


def test_map_activations_and_dropping(generator):
    z = torch.randn(6, 16)
    acts = map_activations(generator, z, layer=1)
    # the second hidden layer's maps: width 8 x 2^(stages - 2), 8 at 16x16, 32 at 64x64
    assert acts.shape == (6, 8 * 2 ** (math.log2(generator.image_size) - 4))
    before = sample_generator(generator, z=z)
    with drop_feature_maps(generator, 1, [0, 3]):
        dropped = map_activations(generator, z, layer=1)
        changed = sample_generator(generator, z=z)
    assert (dropped[:, [0, 3]] == 0).all() and torch.allclose(dropped[:, 1], acts[:, 1])
    assert not torch.allclose(changed, before)
    assert torch.equal(sample_generator(generator, z=z), before)  # the hook is gone


def test_bad_layers_are_refused():
    g = _generator()
    with pytest.raises(ValueError, match="index into 2 hidden layers"):
        map_activations(g, torch.randn(2, 16), layer=5)
    with pytest.raises(ValueError, match="no ReLU"):
        hidden_layers(nn.Linear(2, 2))


def test_class_feature_maps_finds_a_planted_map():
    g = torch.Generator().manual_seed(0)
    acts = torch.rand(100, 10, generator=g)
    labels = torch.arange(100) % 4
    acts[labels == 2, 7] += 1.0
    maps, scores = class_feature_maps(acts, labels, target=2, k=1)
    assert maps.tolist() == [7] and scores.shape == (10,)
    with pytest.raises(ValueError, match="k must be"):
        class_feature_maps(acts, labels, 2, 11)
    with pytest.raises(ValueError, match="at least two"):
        class_feature_maps(acts, torch.zeros(100, dtype=torch.long), 2, 1)


def test_forgetting_fields():
    generator, extractor = _generator(), _classifier()
    _, labels = class_latents(generator, extractor, 100)
    counts = torch.bincount(labels, minlength=4)
    assert int((counts >= 2).sum()) >= 2
    target = int(counts.argmax())
    out = forgetting(generator, extractor, target, k=2, n_select=100, n_test=50, random_draws=2)
    assert len(out["maps"]) == 2 and len(out["random"]) == 2
    assert 0 <= out["after"] <= 1 and abs(float(out["hist_before"].sum()) - 1) < 1e-6


# -- pictures and the explorer ---------------------------------------------------------------


def test_pictures_and_explorer(generator):
    extractor = _classifier()
    anchors = torch.randn(4, 16)
    directions = torch.randn(2, 16)
    axes = plot_latent_rows(generator, {"a": torch.randn(5, 16), "b": torch.randn(5, 16)}, "t")
    assert len(axes) == 2
    fig = explorer_figure(
        generator, extractor, anchors, [(0, 1)], directions, ["x", "y"], base=(0, 1, 0.5)
    )
    assert len(fig.axes) == 15 and "seen as" in fig.axes[0].get_title()
    explorer = latent_explorer(generator, extractor, anchors, directions, ["x", "y"])
    assert explorer.result in range(4)
    plt.close("all")
