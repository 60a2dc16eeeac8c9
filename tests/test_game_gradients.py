"""What chapter 01 leans on: the generator objectives against a frozen D*, the reverse KL of
the Gaussian game, and the sizes of the trainer's optimiser steps."""

import math

import pytest
import torch

from dcgan_lib import (
    MLPDiscriminator,
    MLPGenerator,
    TrainConfig,
    Trainer,
    UpdateSizes,
    count_parameters,
    gaussian_game,
    generator_objective,
)


def slopes(mu, sigma, dm, ds, h=1e-3):
    """Central differences in the direction (dm, ds) of: the two losses against the D* of
    N(mu, sigma^2), held fixed, and the divergences KL(p_g || p_data) - 2 JSD and 2 JSD."""
    game = gaussian_game(mu, sigma)
    up, down = (mu + dm * h, sigma + ds * h), (mu - dm * h, sigma - ds * h)
    ns = generator_objective(game, *up) - generator_objective(game, *down)
    sat = generator_objective(game, *up, "saturating") - generator_objective(
        game, *down, "saturating"
    )
    g_up, g_down = gaussian_game(*up), gaussian_game(*down)
    reverse = (g_up.kl_g_data - 2 * g_up.jsd) - (g_down.kl_g_data - 2 * g_down.jsd)
    jsd2 = 2 * (g_up.jsd - g_down.jsd)
    return [v / (2 * h) for v in (ns, sat, reverse, jsd2)]


@pytest.mark.parametrize("mu, sigma", [(0.5, 1.0), (3.0, 0.5), (-2.0, 2.0)])
@pytest.mark.parametrize("dm, ds", [(1.0, 0.0), (0.0, 1.0)])
def test_nonsaturating_slope_is_reverse_kl_minus_two_jsd(mu, sigma, dm, ds):
    # Arjovsky & Bottou (2017), Theorem 2.5; the saturating loss follows 2 JSD (Theorem 1)
    ns, sat, reverse, jsd2 = slopes(mu, sigma, dm, ds)
    assert ns == pytest.approx(reverse, abs=2e-5)
    assert sat == pytest.approx(jsd2, abs=2e-5)


def test_reverse_kl_matches_the_closed_form():
    for mu, sigma in [(0.0, 1.0), (1.5, 0.8), (6.0, 0.5)]:
        closed = -math.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5
        assert gaussian_game(mu, sigma).kl_g_data == pytest.approx(closed, abs=1e-9)


def test_generator_objective_refuses_bad_input():
    game = gaussian_game(1.0, 1.0)
    with pytest.raises(ValueError, match="unknown generator loss 'hinge'"):
        generator_objective(game, 1.0, 1.0, "hinge")
    with pytest.raises(ValueError, match="sigma must be positive"):
        generator_objective(game, 1.0, 0.0)


def test_update_sizes_are_the_optimiser_steps():
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=2, output_shape=(1,), hidden=(8,))
    D = MLPDiscriminator(input_shape=(1,), hidden=(8,))
    before = [p.detach().clone() for p in G.parameters()]
    sizes = UpdateSizes(G, D)
    config = TrainConfig(steps=3, batch_size=16, lr_g=1e-3, device="cpu", progress=False)
    data = torch.randn(64, 1).clamp(-1, 1)
    trainer = Trainer(G, D, data, config, callbacks=[sizes])
    trainer.fit()
    assert len(sizes.g) == len(sizes.d) == 3 and all(s > 0 for s in sizes.g + sizes.d)
    # Adam's first step moves every weight with a gradient by lr (m_hat / sqrt(v_hat) = +-1)
    assert sizes.g[0] <= 1e-3 * math.sqrt(count_parameters(G)) * (1 + 1e-4)
    total = sum((p.detach() - b).norm() ** 2 for p, b in zip(G.parameters(), before)) ** 0.5
    assert total <= sum(sizes.g) + 1e-6  # the steps add up to at least the net displacement
