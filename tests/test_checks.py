"""Every graded check in dcgan_lib.checks passes a right answer and fails a wrong one.

The registry: ``CASES[name] = Case(right=..., wrong=...)`` for each ``check_*`` function
that ``dcgan_lib.checks`` exports. ``right`` and ``wrong`` take no arguments: ``right``
calls the check with a correct answer (it must print a ✓ line and return True), ``wrong``
with a typical mistake (it must raise ``CheckFailed`` with a message). Keep the entries in
chapter order, one section per chapter module of dcgan_lib/checks/ (``chNN_name.py``). A
check without an entry fails ``test_every_check_is_registered``; further wrong answers of a
check get a test of their own in its section.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import re
import statistics
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

from dcgan_lib import Discriminator, Generator, MLPDiscriminator, MLPGenerator, checks


class Case(NamedTuple):
    right: Callable[[], object]
    wrong: Callable[[], object]
    says: tuple[str, ...] = ()  # words the failure message must contain (what is off)


CASES: dict[str, Case] = {}


# -- Quickstart (notebooks/00_quickstart) -----------------------------------------------

CASES["check_to_unit_range"] = Case(
    right=lambda: checks.check_to_unit_range(lambda pixels, max_value: pixels / max_value * 2 - 1),
    # values in [0, 1]
    wrong=lambda: checks.check_to_unit_range(lambda pixels, max_value: pixels / max_value),
    says=("[0, 1]", "[-1, 1]"),
)
CASES["check_generated_images"] = Case(
    right=lambda: checks.check_generated_images(
        torch.rand(25, 1, 16, 16) * 2 - 1, n=25, channels=1, image_size=16
    ),
    wrong=lambda: checks.check_generated_images(
        torch.rand(25, 1, 16, 16) * 255, n=25, channels=1, image_size=16
    ),
    says=("[-1, 1]", "tanh"),
)
CASES["check_discriminator_logits"] = Case(
    right=lambda: checks.check_discriminator_logits(torch.randn(16) * 3, n=16),
    # probabilities
    wrong=lambda: checks.check_discriminator_logits(torch.sigmoid(torch.randn(16) * 3), n=16),
    says=("sigmoid", "logits"),
)


# -- The GAN game (notebooks/01_gan_game) -----------------------------------------------


def _optimal_discriminator(x, p_data, p_g):
    return p_data(x) / (p_data(x) + p_g(x))


def _optimal_discriminator_swapped(x, p_data, p_g):  # the probability of "fake"
    return p_g(x) / (p_data(x) + p_g(x))


def _jsd(p, q):
    m = (p + q) / 2
    return (
        torch.xlogy(p, p).sum()
        - torch.xlogy(p, m).sum()
        + torch.xlogy(q, q).sum()
        - torch.xlogy(q, m).sum()
    ) / 2


def _jsd_xlogy_ratio(p, q):  # xlogy(p, p / m) is still nan where p = q = 0: 0 / 0 inside the log
    m = (p + q) / 2
    return (torch.xlogy(p, p / m).sum() + torch.xlogy(q, q / m).sum()) / 2


def _jsd_plain_log(p, q):  # p * log(p / m) is nan where p = 0
    m = (p + q) / 2
    return ((p * torch.log(p / m)).sum() + (q * torch.log(q / m)).sum()) / 2


CASES["check_optimal_discriminator"] = Case(
    right=lambda: checks.check_optimal_discriminator(_optimal_discriminator),
    wrong=lambda: checks.check_optimal_discriminator(_optimal_discriminator_swapped),
    says=("swapped",),
)
CASES["check_jsd"] = Case(
    right=lambda: checks.check_jsd(_jsd),
    wrong=lambda: checks.check_jsd(_jsd_plain_log),
    says=("0 * log 0",),
)


def test_jsd_check_catches_an_outcome_neither_distribution_has():
    with pytest.raises(checks.CheckFailed, match="0 \\* log 0"):
        checks.check_jsd(_jsd_xlogy_ratio)


# -- A GAN on 2-D data (notebooks/02_gan_2d) --------------------------------------------


def _mode_coverage(samples, centres, std):
    distance, nearest = torch.cdist(samples, centres).min(dim=1)
    close = distance <= 3 * std
    modes = int(torch.bincount(nearest[close], minlength=len(centres)).gt(0).sum())
    return modes, float(close.float().mean())


# counts every centre that is nearest to some sample, however far away
def _mode_coverage_no_radius(samples, centres, std):
    distance, nearest = torch.cdist(samples, centres).min(dim=1)
    return len(set(nearest.tolist())), float((distance <= 3 * std).float().mean())


class _PointGenerator(torch.nn.Module):
    def __init__(self, latent_dim, squash=False):
        super().__init__()
        self.latent_dim = latent_dim
        layers = [torch.nn.Linear(latent_dim, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)]
        self.net = torch.nn.Sequential(*layers, *([torch.nn.Tanh()] if squash else []))

    def forward(self, z):
        return self.net(z)


CASES["check_mode_coverage"] = Case(
    right=lambda: checks.check_mode_coverage(_mode_coverage),
    wrong=lambda: checks.check_mode_coverage(_mode_coverage_no_radius),
    says=("nearest to some sample", "3 * std"),
)
CASES["check_point_generator"] = Case(
    right=lambda: checks.check_point_generator(_PointGenerator(2), 2),
    # tanh caps |x| at 1
    wrong=lambda: checks.check_point_generator(_PointGenerator(2, squash=True), 2),
    says=("Tanh", "radius 2"),
)

# -- A fully connected GAN on images (notebooks/03_fc_gan_images) -----------------------


def _mlp_generator_parameters(latent_dim, hidden, image_shape):
    sizes = (latent_dim, *hidden, math.prod(image_shape))
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def _mlp_generator_weights_only(latent_dim, hidden, image_shape):  # forgets the biases
    sizes = (latent_dim, *hidden, math.prod(image_shape))
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


CASES["check_gan_pair"] = Case(
    right=lambda: checks.check_gan_pair(
        MLPGenerator(64, (1, 28, 28), (128, 256)),
        MLPDiscriminator((1, 28, 28), (256, 128)),
        64,
        (1, 28, 28),
    ),
    wrong=lambda: checks.check_gan_pair(
        MLPGenerator(64, (1, 28, 28), (128, 256)),
        MLPDiscriminator((1, 32, 32), (256, 128)),  # D for 32x32
        64,
        (1, 28, 28),
    ),
)
CASES["check_mlp_parameter_count"] = Case(
    right=lambda: checks.check_mlp_parameter_count(_mlp_generator_parameters),
    wrong=lambda: checks.check_mlp_parameter_count(_mlp_generator_weights_only),
)


# -- The convolutional building blocks (notebooks/04_conv_building_blocks) -------------


def _upsampling_layer(in_channels, out_channels, factor):
    if factor % 2 == 0:  # kernel 2f, stride f, padding f/2
        return torch.nn.ConvTranspose2d(in_channels, out_channels, 2 * factor, factor, factor // 2)
    return torch.nn.ConvTranspose2d(in_channels, out_channels, factor, factor, 0)


def _upsampling_layer_checkerboard(in_channels, out_channels, factor):  # right sizes, kernel f + 1
    return torch.nn.ConvTranspose2d(
        in_channels, out_channels, factor + 1, factor, 1, output_padding=1
    )


def _batch_norm(x, gamma, beta, eps=1e-5):
    mean, var = (
        x.mean(dim=(0, 2, 3), keepdim=True),
        x.var(dim=(0, 2, 3), unbiased=False, keepdim=True),
    )
    return (x - mean) / torch.sqrt(var + eps) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


def _batch_norm_unbiased(x, gamma, beta, eps=1e-5):  # divides by m - 1
    mean, var = (
        x.mean(dim=(0, 2, 3), keepdim=True),
        x.var(dim=(0, 2, 3), unbiased=True, keepdim=True),
    )
    return (x - mean) / torch.sqrt(var + eps) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


CASES["check_upsampling_layer"] = Case(
    right=lambda: checks.check_upsampling_layer(_upsampling_layer),
    wrong=lambda: checks.check_upsampling_layer(_upsampling_layer_checkerboard),
)
CASES["check_batch_norm"] = Case(
    right=lambda: checks.check_batch_norm(_batch_norm),
    wrong=lambda: checks.check_batch_norm(_batch_norm_unbiased),
)


# -- The DCGAN architecture (notebooks/05_dcgan_architecture) ---------------------------


def _generator_stages(image_size, width, channels):
    n = int(math.log2(image_size)) - 2
    return [(width * 2 ** (n - 1 - i), 4 * 2**i) for i in range(n)] + [(channels, image_size)]


def _generator_stages_doubled(image_size, width, channels):  # one doubling too many at 4x4
    return [(2 * c, s) for c, s in _generator_stages(image_size, width, channels)[:-1]] + [
        (channels, image_size)
    ]


CASES["check_generator_stages"] = Case(
    right=lambda: checks.check_generator_stages(_generator_stages),
    wrong=lambda: checks.check_generator_stages(_generator_stages_doubled),
)
CASES["check_dcgan_pair"] = Case(  # 32x32 grey images with a 4x4x64 stage: width 16
    right=lambda: checks.check_dcgan_pair(
        Generator(8, 32, 1, 16), Discriminator(32, 1, 16), 32, 1, 64
    ),
    wrong=lambda: checks.check_dcgan_pair(  # width 32: a 4x4x128 stage
        Generator(8, 32, 1, 32), Discriminator(32, 1, 32), 32, 1, 64
    ),
)


def _generator_with_output_batchnorm():  # ConvTranspose2d -> BatchNorm2d -> Tanh at the output
    G = Generator(8, 32, 1, 16)
    G.net = nn.Sequential(*G.net[:-1], nn.BatchNorm2d(1), G.net[-1])
    return G


def _discriminator_with_sigmoid():  # returns probabilities, not logits
    D = Discriminator(32, 1, 16)
    D.net.append(nn.Sigmoid())
    return D


@pytest.mark.parametrize(
    "make_pair, says",
    [
        (
            lambda: (_generator_with_output_batchnorm(), Discriminator(32, 1, 16)),
            ("BatchNorm", "Tanh"),
        ),
        (lambda: (Generator(8, 32, 1, 16), _discriminator_with_sigmoid()), ("Sigmoid", "logits")),
    ],
    ids=["batchnorm-on-G-output", "sigmoid-ending-D"],
)
def test_dcgan_pair_check_catches_guideline_mistakes(make_pair, says):
    torch.manual_seed(0)
    G, D = make_pair()
    with pytest.raises(checks.CheckFailed) as failure:
        checks.check_dcgan_pair(G, D, 32, 1, 64)
    for words in says:
        assert words in str(failure.value), f"the message should mention {words!r}: {failure.value}"


# -- Training a DCGAN (notebooks/06_training_dcgan) -------------------------------------


def _discriminator_step(D, opt_d, real, fake):
    opt_d.zero_grad()
    loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    loss.backward()
    opt_d.step()
    return loss


# keeps the generator step's leftover gradients
def _discriminator_step_no_zero_grad(D, opt_d, real, fake):
    loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    loss.backward()
    opt_d.step()
    return loss


CASES["check_discriminator_step"] = Case(
    right=lambda: checks.check_discriminator_step(_discriminator_step),
    wrong=lambda: checks.check_discriminator_step(_discriminator_step_no_zero_grad),
    says=("zero_grad",),
)
CASES["check_nonsaturating_generator_loss"] = Case(
    right=lambda: checks.check_nonsaturating_generator_loss(
        lambda logits: F.softplus(-logits).mean()
    ),
    wrong=lambda: checks.check_nonsaturating_generator_loss(
        lambda logits: -torch.log(torch.sigmoid(logits)).mean()
    ),
    says=("softplus",),  # log(sigmoid(-200)) is -inf
)


@pytest.mark.parametrize(
    "loss, says",
    [
        (lambda t: F.softplus(t).mean(), ("sign flipped", "saturating")),  # -E[log(1 - D)]
        (lambda t: -F.softplus(t).mean(), ("saturating (minimax)",)),  # E[log(1 - D)]
        (lambda t: -F.softplus(-t).mean(), ("sign is flipped",)),  # E[log D]
        (lambda t: F.softplus(-t).sum(), ("mean over the batch",)),
        (lambda t: F.binary_cross_entropy_with_logits(t, torch.zeros_like(t)), ("sign flipped",)),
    ],
)
def test_generator_loss_check_names_the_mistake(loss, says):
    with pytest.raises(checks.CheckFailed) as failure:
        checks.check_nonsaturating_generator_loss(loss)
    for words in says:
        assert words in str(failure.value), f"the message should mention {words!r}: {failure.value}"


# -- Evaluating a GAN (notebooks/07_evaluating_gans) ------------------------------------


def _frechet_distance(mu1, sigma1, mu2, sigma2):
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1 + sigma2 - 2 * linalg.sqrtm(sigma1 @ sigma2).real))


# sqrt(S1) sqrt(S2): right only if the covariances commute
def _frechet_distance_separate_roots(mu1, sigma1, mu2, sigma2):
    diff = mu1 - mu2
    cross = linalg.sqrtm(sigma1).real @ linalg.sqrtm(sigma2).real
    return float(diff @ diff + np.trace(sigma1 + sigma2 - 2 * cross))


CASES["check_frechet_distance"] = Case(
    right=lambda: checks.check_frechet_distance(_frechet_distance),
    wrong=lambda: checks.check_frechet_distance(_frechet_distance_separate_roots),
    says=("commute", "sqrtm(sigma1 @ sigma2)"),
)


# -- GAN versus DCGAN, measured (notebooks/08_gan_vs_dcgan) -----------------------------


def _compare_runs(scores_a, scores_b, higher_is_better):
    mean_a, std_a = statistics.mean(scores_a), statistics.stdev(scores_a)
    mean_b, std_b = statistics.mean(scores_b), statistics.stdev(scores_b)
    gap = (mean_a - mean_b) if higher_is_better else (mean_b - mean_a)
    winner = ("a" if gap > 0 else "b") if abs(gap) > std_a + std_b else "tie"
    return {"mean_a": mean_a, "std_a": std_a, "mean_b": mean_b, "std_b": std_b, "winner": winner}


def _compare_runs_no_margin(scores_a, scores_b, higher_is_better):  # calls a winner on any gap
    result = _compare_runs(scores_a, scores_b, higher_is_better)
    better_a = (result["mean_a"] > result["mean_b"]) == higher_is_better
    return {**result, "winner": "a" if better_a else "b"}


def _parameters_by_layer_type(model):
    counts = {}
    for module in model.modules():
        n = sum(p.numel() for p in module.parameters(recurse=False))
        if n:
            counts[type(module).__name__] = counts.get(type(module).__name__, 0) + n
    return counts


# only the top-level children: an nn.Sequential counts as one "layer"
def _parameters_by_child(model):
    return {type(m).__name__: sum(p.numel() for p in m.parameters()) for m in model.children()}


CASES["check_compare_runs"] = Case(
    right=lambda: checks.check_compare_runs(_compare_runs),
    wrong=lambda: checks.check_compare_runs(_compare_runs_no_margin),
    says=("tie", "std_a + std_b"),
)
CASES["check_parameters_by_layer_type"] = Case(
    right=lambda: checks.check_parameters_by_layer_type(_parameters_by_layer_type),
    wrong=lambda: checks.check_parameters_by_layer_type(_parameters_by_child),
)


# -- The guidelines, tested (notebooks/09_guidelines_ablated) ---------------------------


def _nyquist_power(images):
    x = images - images.mean(dim=(-2, -1), keepdim=True)
    return torch.fft.fft2(x).abs() ** 2


def _nyquist_fraction(images):
    p = _nyquist_power(images)
    h, w = p.shape[-2:]
    return float((p[..., h // 2, 0] + p[..., 0, w // 2] + p[..., h // 2, w // 2]).sum() / p.sum())


def _nyquist_fraction_diagonal_only(images):  # misses stripes, a checkerboard along one axis
    p = _nyquist_power(images)
    h, w = p.shape[-2:]
    return float(p[..., h // 2, w // 2].sum() / p.sum())


CASES["check_nyquist_fraction"] = Case(
    right=lambda: checks.check_nyquist_fraction(_nyquist_fraction),
    wrong=lambda: checks.check_nyquist_fraction(_nyquist_fraction_diagonal_only),
    says=("(0, W/2)", "all three Nyquist frequencies"),
)

# -- The latent space (notebooks/10_latent_space) ----------------------------------------


def _slerp(z0, z1, t, weights=None):
    omega = torch.acos(torch.clamp(z0 @ z1 / (z0.norm() * z1.norm()), -1, 1))
    w0, w1 = torch.sin((1 - t) * omega), torch.sin(t * omega)
    if weights == "swapped":
        w0, w1 = w1, w0
    if weights == "unnormalised":
        return w0 * z0 + w1 * z1
    return (w0 * z0 + w1 * z1) / torch.sin(omega)


def _drop_maps(x, maps):
    out = x.clone()
    out[:, maps] = 0
    return out


def _drop_maps_in_place(x, maps):
    x[:, maps] = 0
    return x


CASES["check_slerp"] = Case(
    right=lambda: checks.check_slerp(_slerp),
    wrong=lambda: checks.check_slerp(lambda z0, z1, t: (1 - t) * z0 + t * z1),
    says=("linear interpolation", "0.71"),
)
CASES["check_drop_maps"] = Case(
    right=lambda: checks.check_drop_maps(_drop_maps),
    wrong=lambda: checks.check_drop_maps(_drop_maps_in_place),
    says=("in place",),
)


@pytest.mark.parametrize(
    "slerp, says",
    [
        (lambda z0, z1, t: _slerp(z0, z1, t, "unnormalised"), "did not normalise for the angle"),
        (lambda z0, z1, t: _slerp(z0, z1, t, "swapped"), "t=0 must give z0"),
        (lambda z0, z1, t: z0 + 0 * t, "t=1 does not return z1"),
        (lambda z0, z1, t: 2 * z0 if t == 0 else _slerp(z0, z1, t), "t=0 does not return z0"),
        (
            lambda z0, z1, t: (
                (
                    torch.sin((1 - t) * torch.acos(z0 @ z1)) * z0
                    + torch.sin(t * torch.acos(z0 @ z1)) * z1
                )
                / torch.sin(torch.acos(z0 @ z1))
            ),
            "NaN",
        ),
    ],
)
def test_slerp_check_names_the_mistake(slerp, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_slerp(slerp)


@pytest.mark.parametrize(
    "drop, says",
    [
        (lambda x, maps: x[:, [c for c in range(x.shape[1]) if c not in maps]], "removed the maps"),
        (lambda x, maps: x.clone().index_fill_(2, torch.tensor(maps), 0.0), "zeroed rows"),
        (lambda x, maps: x.clone().index_fill_(0, torch.tensor(maps), 0.0), "images of the batch"),
        (
            lambda x, maps: (
                x * 0 + torch.zeros_like(x).index_copy_(1, torch.tensor(maps), x[:, maps])
            ),
            "kept only",
        ),
    ],
)
def test_drop_maps_check_names_the_mistake(drop, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_drop_maps(drop)


# -- The discriminator as a feature learner (notebooks/11_discriminator_features) ---------


def _pool(maps, grid, pool=F.adaptive_max_pool2d):
    return torch.cat([pool(m, grid).flatten(1) for m in maps], dim=1)


def _subset(labels, n, seed):
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    per_class = n // len(classes)
    picks = []
    for c in classes:
        members = torch.nonzero(labels == c).flatten()
        picks.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(picks)


CASES["check_pool_to_grid"] = Case(
    right=lambda: checks.check_pool_to_grid(_pool),
    wrong=lambda: checks.check_pool_to_grid(
        lambda maps, grid: _pool(maps, grid, F.adaptive_avg_pool2d)
    ),
    says=("average pooling",),
)
CASES["check_balanced_subset"] = Case(
    right=lambda: checks.check_balanced_subset(_subset),
    # n at random from the whole set: the classes come in their own proportions
    wrong=lambda: checks.check_balanced_subset(
        lambda labels, n, seed: torch.randperm(
            len(labels), generator=torch.Generator().manual_seed(seed)
        )[:n]
    ),
    says=("of each",),
)


@pytest.mark.parametrize(
    "pool, says",
    [
        (lambda maps, grid: _pool(maps[:-1], grid), "layer 2"),
        (lambda maps, grid: _pool(maps[1:], grid), "layer 0"),
        (lambda maps, grid: _pool(maps, 4), "4x4 grid, not the 2x2"),
        (lambda maps, grid: _pool(maps, 1), "one value per channel"),
        (lambda maps, grid: torch.cat([m.flatten(1) for m in maps], 1), "without pooling"),
        (lambda maps, grid: _pool(maps[::-1], grid), "last to first"),
        (
            lambda maps, grid: torch.cat(
                [F.adaptive_max_pool2d(m, grid).permute(0, 2, 3, 1).flatten(1) for m in maps], 1
            ),
            "(row, column, channel)",
        ),
        (lambda maps, grid: torch.cat([F.adaptive_max_pool2d(m, grid) for m in maps], 1), "(B, d)"),
    ],
)
def test_pool_to_grid_check_names_the_mistake(pool, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_pool_to_grid(pool)


def _subset_with_replacement(labels, n, seed):
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    picks = []
    for c in classes:
        members = torch.nonzero(labels == c).flatten()
        picks.append(members[torch.randint(len(members), (n // len(classes),), generator=g)])
    return torch.cat(picks)


@pytest.mark.parametrize(
    "subset, says",
    [
        (_subset_with_replacement, "without replacement"),
        (lambda labels, n, seed: _subset(labels, n, 0), "the seed must decide"),
        (lambda labels, n, seed: _subset(labels, n, int(torch.randint(99, ()))), "same seed"),
        (
            lambda labels, n, seed: torch.cat(
                [torch.nonzero(labels == c).flatten()[: n // 5] for c in range(5)]
            ),
            "at random",
        ),
        (lambda labels, n, seed: _subset(labels, n, seed)[:-1], "20 indices"),
    ],
)
def test_balanced_subset_check_names_the_mistake(subset, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_balanced_subset(subset)


# -- Neural style transfer and textures (notebooks/12_style_transfer) --------------------


def _gram(features):
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def _gram_unnormalised(features):
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2)


def _gram_transposed(features):
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat.transpose(1, 2) @ flat / (h * w)


def _gram_over_batch(features):
    b, c, h, w = features.shape
    flat = features.transpose(0, 1).reshape(c, b * h * w)
    return flat @ flat.T / (b * h * w)


def _tv(x):
    vertical = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()
    return vertical + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


def _tv_horizontal_only(x):
    return (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


def _tv_absolute(x):
    vertical = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    return vertical + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def _tv_summed(x):
    vertical = (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum()
    return vertical + (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum()


def _style_loss(features, target_grams, weights):
    return sum(
        weights[k] * F.mse_loss(_gram(features[k]), target) for k, target in target_grams.items()
    )


def _style_loss_unweighted(features, target_grams, weights):
    return sum(F.mse_loss(_gram(features[k]), target) for k, target in target_grams.items())


def _style_loss_on_features(features, target_grams, weights):
    return sum(weights[k] * F.mse_loss(features[k], t) for k, t in target_grams.items())


CASES["check_gram_matrix"] = Case(
    right=lambda: checks.check_gram_matrix(_gram),
    wrong=lambda: checks.check_gram_matrix(_gram_unnormalised),
    says=("H*W",),
)
CASES["check_total_variation_loss"] = Case(
    right=lambda: checks.check_total_variation_loss(_tv),
    wrong=lambda: checks.check_total_variation_loss(_tv_horizontal_only),
    says=("direction is missing",),
)
CASES["check_content_loss"] = Case(
    right=lambda: checks.check_content_loss(lambda f, t, layer: F.mse_loss(f[layer], t[layer])),
    # always the first layer, whatever was asked for
    wrong=lambda: checks.check_content_loss(
        lambda f, t, layer: F.mse_loss(f["shallow"], t["shallow"])
    ),
    says=("used the layer 'shallow'",),
)
CASES["check_style_loss"] = Case(
    right=lambda: checks.check_style_loss(_style_loss),
    wrong=lambda: checks.check_style_loss(_style_loss_unweighted),
    says=("weights are not applied",),
)


@pytest.mark.parametrize(
    "gram, says",
    [
        (_gram_transposed, "transposed"),
        (_gram_over_batch, "over the batch"),
        (lambda f: _gram(f) / f.shape[1], "C*H*W"),
    ],
)
def test_gram_matrix_check_names_the_mistake(gram, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_gram_matrix(gram)


@pytest.mark.parametrize(
    "tv, says",
    [
        (_tv_absolute, "square them"),
        (lambda x: _tv_horizontal_only(x.transpose(-1, -2)), "direction is missing"),
        (_tv_summed, "not the sum"),
    ],
)
def test_total_variation_check_names_the_mistake(tv, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_total_variation_loss(tv)


@pytest.mark.parametrize(
    "loss, says",
    [
        (lambda f, t, layer: sum(F.mse_loss(f[k], t[k]) for k in f), "adds up every layer"),
        (lambda f, t, layer: (f[layer] - t[layer]).pow(2).sum(), "take their mean"),
        (lambda f, t, layer: (f[layer] - t[layer]).abs().mean(), "square them"),
    ],
)
def test_content_loss_check_names_the_mistake(loss, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_content_loss(loss)


@pytest.mark.parametrize(
    "loss, says",
    [
        (_style_loss_on_features, "Gram matrix"),
        (lambda f, t, w: w["b"] * F.mse_loss(_gram(f["b"]), t["b"]), "only the last layer"),
        (
            lambda f, t, w: sum(w[k] * (_gram(f[k]) - t[k]).pow(2).sum() for k in t),
            "take their mean",
        ),
    ],
)
def test_style_loss_check_names_the_mistake(loss, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_style_loss(loss)


# -- The conditional DCGAN (notebooks/13_conditional_dcgan) -------------------------------


def _projection_logit(features, embedding, psi, y):
    return psi + (embedding[y] * features).sum(1)


CASES["check_projection_logit"] = Case(
    right=lambda: checks.check_projection_logit(_projection_logit),
    # the embedding row summed instead of its inner product with the features
    wrong=lambda: checks.check_projection_logit(lambda f, e, psi, y: psi + e[y].sum(1)),
    says=("summed the embedding row",),
)


@pytest.mark.parametrize(
    "logit, says",
    [
        (lambda f, e, psi, y: (e[y] * f).sum(1), "psi is missing"),
        (lambda f, e, psi, y: psi + (e[(y + 1) % len(e)] * f).sum(1), "wrong class's row"),
        (lambda f, e, psi, y: psi + (e[y[0]] * f).sum(1), "first example's class"),
        (lambda f, e, psi, y: psi + (e[y] + f).sum(1), "added the embedding row"),
        (lambda f, e, psi, y: f @ e.T, "a logit for every class"),
        (lambda f, e, psi, y: psi[:, None] + e[y] * f, "sum over the feature dimension"),
        (lambda f, e, psi, y: psi - (e[y] * f).sum(1), "subtracted"),
        (lambda f, e, psi, y: psi.add_((e[y] * f).sum(1)), "in place"),
        (lambda f, e, psi, y: psi + 2 * (e[y] * f).sum(1), "should be psi"),
    ],
)
def test_projection_check_names_the_mistake(logit, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_projection_logit(logit)


# -- The stabilisers (notebooks/14_stabilisers) -------------------------------------------


def _power_iteration(weight, u, iterations, as_matrix=None):
    """Spectral normalisation's estimate: u, v found without grad, then sigma = u^T W v."""
    w = weight.reshape(len(weight), -1) if as_matrix is None else as_matrix(weight)
    with torch.no_grad():
        for _ in range(iterations):
            v = F.normalize(w.T @ u, dim=0)
            u = F.normalize(w @ v, dim=0)
    return u @ w @ v, u


def _power_iteration_sigma_squared(weight, u, iterations):
    _, u = _power_iteration(weight, u, iterations)
    return (weight.reshape(len(weight), -1).T @ u).norm() ** 2, u


def _power_iteration_u_in_place(weight, u, iterations):
    sigma, new_u = _power_iteration(weight, u, iterations)
    return sigma, u.copy_(new_u)


def _power_iteration_weight_in_place(weight, u, iterations):
    sigma, u = _power_iteration(weight, u, iterations)
    with torch.no_grad():
        weight /= sigma  # spectral normalisation applied to the weight itself
    return sigma, u


def _svdvals_estimate(weight, u, iterations):
    return torch.linalg.svdvals(weight.reshape(len(weight), -1))[0], u


CASES["check_spectral_norm_estimate"] = Case(
    right=lambda: checks.check_spectral_norm_estimate(_power_iteration),
    wrong=lambda: checks.check_spectral_norm_estimate(lambda weight, u, n: (weight.norm(), u)),
    says=("Frobenius", "largest one"),
)


@pytest.mark.parametrize(
    "estimate, says",
    [
        (_svdvals_estimate, "exact after one iteration"),
        (_power_iteration_sigma_squared, "sigma squared"),
        (_power_iteration_u_in_place, "u was changed in place"),
        (_power_iteration_weight_in_place, "weight was changed in place"),
        (lambda w, u, n: (lambda s, u: (s, u * s))(*_power_iteration(w, u, n)), "normalised u"),
        (lambda w, u, n: (_power_iteration(w, u, n)[0], u), "the u of the last iteration"),
        (lambda w, u, n: (lambda s, u: (s.detach(), u))(*_power_iteration(w, u, n)), "no gradient"),
        (lambda w, u, n: _power_iteration(w, u, 1), "largest singular value"),
        (
            lambda w, u, n: _power_iteration(w, u, n, lambda k: k.reshape(-1, len(k)).T),
            "reshape(-1, out).T",
        ),
        (
            lambda w, u, n: _power_iteration(
                w, u, n, lambda k: k[:, :, 0, 0] if k.dim() == 4 else k
            ),
            "first kernel tap",
        ),
        (
            lambda w, u, n: _power_iteration(
                w, u, n, lambda k: k.transpose(0, 1).reshape(len(k), -1)
            ),
            "ConvTranspose2d",
        ),
    ],
)
def test_spectral_norm_check_names_the_mistake(estimate, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_spectral_norm_estimate(estimate)


# -- After DCGAN (notebooks/15_after_dcgan) -------------------------------------------------


def _hinge(real, fake):
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


CASES["check_hinge_discriminator_loss"] = Case(
    right=lambda: checks.check_hinge_discriminator_loss(_hinge),
    # the non-saturating loss of DCGAN
    wrong=lambda: checks.check_hinge_discriminator_loss(
        lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean()
    ),
    says=("non-saturating",),
)


@pytest.mark.parametrize(
    "loss, says",
    [
        (lambda r, f: F.relu(-r).mean() + F.relu(f).mean(), "margin is missing"),
        (lambda r, f: F.relu(1 - r).mean() + F.relu(1 - f).mean(), "sign of the fake term"),
        (lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(), "swapped"),
        (lambda r, f: (1 - r).mean() + (1 + f).mean(), "relu is missing"),
        (lambda r, f: f.mean() - r.mean(), "Wasserstein"),
        (lambda r, f: F.relu(1 - r).sum() + F.relu(1 + f).sum(), "mean of each term"),
        (lambda r, f: torch.cat([F.relu(1 - r), F.relu(1 + f)]).mean(), "together"),
        (lambda r, f: _hinge(r, f).detach(), "keep the graph"),
    ],
)
def test_hinge_check_names_the_mistake(loss, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_hinge_discriminator_loss(loss)


# -- Appendix: how fast it trains (notebooks/90_how_fast_it_trains) ---------------------


def _layer_flops(layer, shape):
    c, h, w = shape
    k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels * layer.out_channels
    if isinstance(layer, nn.ConvTranspose2d):  # every input pixel scatters a kernel patch
        return 2 * h * w * k
    out = layer(torch.zeros(1, *shape))  # every output pixel is one kernel-sized dot product
    return 2 * out.shape[2] * out.shape[3] * k


def _layer_flops_output_pixels(layer, shape):
    k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels * layer.out_channels
    out = layer(torch.zeros(1, *shape))
    return 2 * out.shape[2] * out.shape[3] * k


CASES["check_layer_flops"] = Case(
    right=lambda: checks.check_layer_flops(_layer_flops),
    wrong=lambda: checks.check_layer_flops(lambda layer, shape: _layer_flops(layer, shape) / 2),
    says=("multiply-adds", "2 FLOPs"),
)


@pytest.mark.parametrize(
    "flops, says",
    [
        (_layer_flops_output_pixels, "*input* pixel"),
        (lambda layer, shape: _layer_flops(layer, shape) / layer.out_channels, "output channels"),
        (lambda layer, shape: _layer_flops(layer, shape) / layer.in_channels, "input channels"),
    ],
)
def test_layer_flops_check_names_the_mistake(flops, says):
    with pytest.raises(checks.CheckFailed, match=re.escape(says)):
        checks.check_layer_flops(flops)


# -- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_right_answer_passes(name, capsys):
    torch.manual_seed(0)
    assert CASES[name].right() is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_answer_fails_with_a_message(name):
    torch.manual_seed(0)
    with pytest.raises(checks.CheckFailed) as failure:
        CASES[name].wrong()
    message = str(failure.value)
    assert message.strip(), f"{name} failed without saying why"
    for words in CASES[name].says:
        assert words in message, f"{name}'s message should mention {words!r}: {message}"


def _chapter_modules():
    """dcgan_lib.checks's modules: _common and one per chapter."""
    return [
        importlib.import_module(f"{checks.__name__}.{m.name}")
        for m in pkgutil.iter_modules(checks.__path__)
    ]


def test_every_check_is_registered():
    defined = {
        name
        for module in _chapter_modules()
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("check_") and fn.__module__ == module.__name__
    }
    exported = {name for name in checks.__all__ if name.startswith("check_")}
    absent = [name for name in checks.__all__ if not hasattr(checks, name)]
    assert not absent, f"dcgan_lib.checks.__all__ names what its __init__ does not import: {absent}"
    assert defined == exported, (
        f"dcgan_lib.checks.__all__ and its check_* functions differ: {defined ^ exported}"
    )
    missing = sorted(exported - set(CASES))
    assert not missing, (
        f"register a right and a wrong answer in tests/test_checks.py for: {', '.join(missing)}"
    )
    unknown = sorted(set(CASES) - exported)
    assert not unknown, (
        f"tests/test_checks.py registers checks that dcgan_lib.checks does not export: {unknown}"
    )
