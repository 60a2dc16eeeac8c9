"""Tests of dcgan_lib.metrics: each metric on cases whose answer is known."""

import math

import pytest
import torch

from dcgan_lib import toy_mixture, toy_mode_coverage

# -- toy mode coverage --------------------------------------------------------------------


def test_toy_mode_coverage_real_samples_hit_every_mode():
    centres, std = toy_mixture("ring")
    g = torch.Generator().manual_seed(0)
    samples = centres.repeat(50, 1) + std * torch.randn(400, 2, generator=g)
    result = toy_mode_coverage(samples, centres, std)
    assert result["modes_hit"] == 8
    assert result["high_quality"] > 0.97  # within 3 std: about 98.9% in 2-D
    assert result["counts"].sum() <= 400 and result["counts"].shape == (8,)


def test_toy_mode_coverage_collapsed_and_off_manifold():
    centres, std = toy_mixture("grid")
    collapsed = centres[3].repeat(100, 1)  # every sample on one mode
    result = toy_mode_coverage(collapsed, centres, std)
    assert result["modes_hit"] == 1 and result["high_quality"] == 1.0
    assert result["counts"][3] == 100
    between = torch.tensor([[1.0, 1.0]]).repeat(10, 1)  # halfway between modes
    result = toy_mode_coverage(between, centres, std)
    assert result["modes_hit"] == 0 and result["high_quality"] == 0.0


def test_toy_mode_coverage_min_count_and_bad_shape():
    centres, std = toy_mixture("ring")
    samples = torch.cat([centres[:1].repeat(5, 1), centres[1:2]])  # 5 on mode 0, 1 on mode 1
    assert toy_mode_coverage(samples, centres, std)["modes_hit"] == 2
    assert toy_mode_coverage(samples, centres, std, min_count=2)["modes_hit"] == 1
    with pytest.raises(ValueError, match="must be"):
        toy_mode_coverage(torch.zeros(4, 3), centres, std)


# -- Frechet distance and FID -------------------------------------------------------------

from dcgan_lib import (  # noqa: E402
    evaluation,  # noqa: E402
    features,
    metrics,
)
from dcgan_lib.metrics import (  # noqa: E402
    density_coverage,
    fid_from_features,
    frechet_distance,
    precision_recall,
)


def test_frechet_distance_identical_gaussians_is_zero():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 6, generator=g)
    sigma = (a @ a.T + 0.1 * torch.eye(6)).numpy()
    mu = torch.randn(6, generator=g).numpy()
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_closed_form_for_diagonal_covariances():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, -1.0, 2.0])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    expected = float(
        ((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum()
    )  # 5 + 4 + 1 = 10
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(
        expected, rel=1e-9
    )
    assert expected == pytest.approx(10.0)


def test_frechet_distance_general_covariances_match_eigenvalue_formula():
    # Tr (S1 S2)^{1/2} = sum of the square roots of the eigenvalues of S1 S2 (which are >= 0)
    g = torch.Generator().manual_seed(1)
    a, b = (
        torch.randn(5, 5, generator=g, dtype=torch.float64),
        torch.randn(5, 5, generator=g, dtype=torch.float64),
    )
    s1, s2 = a @ a.T + torch.eye(5), b @ b.T + torch.eye(5)
    mu1, mu2 = torch.randn(5, generator=g, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    tr_sqrt = torch.linalg.eigvals(s1 @ s2).sqrt().real.sum()
    expected = float((mu1 - mu2) @ (mu1 - mu2) + s1.trace() + s2.trace() - 2 * tr_sqrt)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_fid_from_features_identical_sets_zero_and_shifted_sets_closed_form():
    g = torch.Generator().manual_seed(2)
    f = torch.randn(3000, 4, generator=g)
    f = f - f.mean(0)  # exactly zero mean
    assert fid_from_features(f, f.clone()) == pytest.approx(0.0, abs=1e-6)
    # shifting every feature by (1, 1, 1, 1) leaves the covariance: FID = ||shift||^2 = 4
    assert fid_from_features(f, f + 1) == pytest.approx(4.0, rel=1e-6)
    # scaling by 2: Tr(S + 4S - 2 (4 S^2)^{1/2}) = Tr S, the sum of the variances (about 4)
    assert fid_from_features(f, 2 * f) == pytest.approx(float(f.var(0).sum()), rel=1e-6)


def test_fid_with_fewer_samples_than_dimensions_stays_finite():
    g = torch.Generator().manual_seed(3)
    a, b = (
        torch.randn(10, 32, generator=g),
        torch.randn(10, 32, generator=g),
    )  # singular covariances
    value = fid_from_features(a, b)
    assert math.isfinite(value) and value > 0
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(a[:1], b)


def test_fid_matches_torchmetrics_with_the_same_feature_extractor():
    from torchmetrics.image.fid import FrechetInceptionDistance

    torch.manual_seed(0)
    net = features.Classifier(16, 1, 10).eval()

    class Features(torch.nn.Module):  # what torchmetrics accepts as `feature`
        num_features = 128

        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.features(x)

    g = torch.Generator().manual_seed(0)
    real = torch.rand(300, 1, 16, 16, generator=g) * 2 - 1
    fake = (torch.rand(300, 1, 16, 16, generator=g) * 2 - 1) * 0.5 + 0.2
    tm = FrechetInceptionDistance(feature=Features(), normalize=True)
    tm.update(real, real=True)
    tm.update(fake, real=False)
    with torch.no_grad():
        ours = fid_from_features(net.features(real), net.features(fake))
    theirs = float(tm.compute())
    assert ours > 0.01
    assert abs(ours - theirs) / theirs < 1e-3


# -- k-NN metrics -------------------------------------------------------------------------


def test_identical_sets_have_perfect_precision_recall_coverage():
    f = torch.randn(400, 8, generator=torch.Generator().manual_seed(4))
    assert precision_recall(f, f.clone()) == {"precision": 1.0, "recall": 1.0}
    dc = density_coverage(f, f.clone())
    assert dc["coverage"] == 1.0
    assert dc["density"] >= 1.0  # every fake sits on a real point: in its own ball and others'


def test_far_apart_sets_score_zero_and_dropped_modes_lower_recall_only():
    g = torch.Generator().manual_seed(5)
    real = torch.cat(
        [torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g) + 20]
    )  # two modes
    far = torch.randn(200, 2, generator=g) + 100
    assert precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}
    assert density_coverage(real, far) == {"density": 0.0, "coverage": 0.0}
    one_mode = torch.randn(400, 2, generator=g) * 0.5  # inside the first mode only
    pr, dc = precision_recall(real, one_mode), density_coverage(real, one_mode)
    assert pr["precision"] > 0.95 and pr["recall"] < 0.55
    assert dc["coverage"] < 0.55


def test_ball_membership_is_precision_sample_by_sample():
    g = torch.Generator().manual_seed(6)
    real, fake = torch.randn(300, 4, generator=g), torch.randn(200, 4, generator=g) * 1.5
    radii, inside = metrics.ball_membership(real, fake, k=3)
    assert radii.shape == (300,) and inside.shape == (200, 300) and inside.dtype == torch.bool
    assert inside.any(1).double().mean().item() == pytest.approx(
        precision_recall(real, fake, 3)["precision"]
    )
    # a sample placed on a real point lies in that point's ball, one far away in none
    _, on_and_off = metrics.ball_membership(real, torch.stack([real[7], real[7] + 100]), k=3)
    assert on_and_off[0, 7] and not on_and_off[1].any()


def test_class_histogram_one_class_and_uniform():
    one = metrics.class_histogram(torch.full((500,), 3), 10)
    assert one["modes_hit"] == 1 and one["kl_uniform"] == pytest.approx(math.log(10))
    uniform = metrics.class_histogram(torch.arange(1000) % 10, 10)
    assert uniform["modes_hit"] == 10 and uniform["kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert (
        metrics.class_histogram(torch.tensor([0] * 995 + [1] * 5), 10)["modes_hit"] == 1
    )  # 0.5% < 1%


def test_nearest_neighbours_and_memorisation_pairs():
    g = torch.Generator().manual_seed(6)
    train = torch.rand(50, 1, 8, 8, generator=g) * 2 - 1
    copies = train[[7, 3, 41]]
    found = evaluation.nearest_training_images(copies, train, n=3)
    assert found["indices"].tolist() == [7, 3, 41]
    assert torch.allclose(found["distances"], torch.zeros(3), atol=1e-4)
    assert found["pairs"].shape == (6, 1, 8, 8) and torch.equal(found["pairs"][3:], copies)
    dist, idx = metrics.nearest_neighbours(
        torch.tensor([[0.0], [10.0]]), torch.tensor([[1.0], [9.5], [-3.0]]), k=2
    )
    assert idx.tolist() == [[0, 2], [1, 0]] and dist[1].tolist() == pytest.approx([0.5, 9.0])


# -- extractors, evaluate and the command line --------------------------------------------


class OneImageGenerator(torch.nn.Module):
    """A 'generator' that always draws the same image: the worst case of mode collapse."""

    def __init__(self, image):
        super().__init__()
        self.register_buffer("image", image)
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.latent_dim, self.channels, self.image_size = 4, image.shape[0], image.shape[-1]

    def forward(self, z):
        return self.image.expand(len(z), -1, -1, -1) * self.scale


def test_generator_of_one_class_hits_one_mode_with_kl_log10():
    from dcgan_lib import load_dataset

    extractor = features.feature_extractor("digits")
    assert extractor.name == "classifier-digits16"
    test = load_dataset("digits", split="test")
    assert (
        extractor.predict(test.x) == test.y
    ).float().mean() > 0.95  # the shipped classifier works
    results = evaluation.evaluate(
        OneImageGenerator(test.x[0]), "digits", n=200, extractor=extractor, n_train=0
    )
    assert results["modes_hit"] == 1 and results["kl_uniform"] == pytest.approx(math.log(10))
    assert results["recall"] < 0.05 and results["coverage"] < 0.05
    assert (
        results["n_real"] == 200
        and results["n_fake"] == 200
        and results["extractor"] == "classifier-digits16"
    )
    real_vs_real = evaluation.evaluate_samples(
        load_dataset("digits", limit=360).x, test.x, extractor
    )
    assert real_vs_real["fid"] < results["fid"] and real_vs_real["modes_hit"] == 10


def test_missing_inception_weights_fail_fast_with_a_clear_message(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no cached weights
    monkeypatch.setattr(features, "network_available", lambda host, port: False)
    t0 = time.perf_counter()
    with pytest.raises(
        features.WeightsUnavailableError, match="Inception weights are unavailable offline"
    ):
        features.feature_extractor("inception-v3")
    assert time.perf_counter() - t0 < 60
    with pytest.raises(ValueError, match="unknown feature extractor"):
        features.feature_extractor("vgg")


def test_evaluate_cli_on_a_tiny_checkpoint(tmp_path):
    import subprocess
    import sys

    from dcgan_lib import Generator, save_checkpoint

    torch.manual_seed(0)
    G = Generator(8, 16, 1, 4)
    tiny = save_checkpoint(
        tmp_path / "tiny.pt",
        {
            "generator": {"config": G.config, "state_dict": G.state_dict()},
            "meta": {"dataset": "digits"},
            "step": 2,
        },
    )
    clf = save_checkpoint(tmp_path / "clf.pt", {"classifier": {"config": {"class": "Classifier"}}})
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcgan_lib",
            "evaluate",
            "--checkpoint",
            str(tiny),
            str(clf),
            "--n",
            "100",
            "--n-train",
            "200",
            "--device",
            "cpu",
            "--json",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "FID (classifier-digits16, n_real=100, n_fake=100) = " in run.stdout
    assert "clf.pt holds no generator (classifier); skipped" in run.stdout
    assert "recall (k=3, classifier-digits16, n_real=100, n_fake=100)" in run.stdout
    assert (tmp_path / "r.json").is_file()

    from dcgan_lib.cli import main

    assert main(["evaluate", "--checkpoint", str(clf)]) == 1  # only a classifier: an error
    assert main(["evaluate", "--checkpoint", str(tiny), "--n", "1"]) == 2  # a bad flag
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
