"""Each loss against its formula, on values computed by hand."""

import math

import pytest
import torch

from dcgan_lib import (
    discriminator_loss,
    generator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
    value_function,
)


def logit(p):
    return math.log(p / (1 - p))


def test_discriminator_loss_matches_formula():
    # D(x) = 0.9, 0.6; D(G(z)) = 0.2, 0.3 -> -(mean log D(x) + mean log(1 - D(G(z))))
    real = torch.tensor([logit(0.9), logit(0.6)])
    fake = torch.tensor([logit(0.2), logit(0.3)])
    expected = -((math.log(0.9) + math.log(0.6)) / 2 + (math.log(0.8) + math.log(0.7)) / 2)
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    assert value_function(real, fake).item() == pytest.approx(-expected, rel=1e-6)


def test_optimal_game_value_is_minus_log_4():
    # at the equilibrium D = 1/2 everywhere: V = log(1/2) + log(1/2) = -log 4
    zeros = torch.zeros(7)
    assert value_function(zeros, zeros).item() == pytest.approx(-math.log(4), rel=1e-7)


def test_generator_losses_match_formulas():
    fake = torch.tensor([logit(0.1), logit(0.5)])
    sat = (math.log(1 - 0.1) + math.log(1 - 0.5)) / 2
    nonsat = -(math.log(0.1) + math.log(0.5)) / 2
    assert generator_loss_saturating(fake).item() == pytest.approx(sat, rel=1e-6)
    assert generator_loss_nonsaturating(fake).item() == pytest.approx(nonsat, rel=1e-6)
    assert generator_loss(fake, "saturating").item() == pytest.approx(sat, rel=1e-6)
    assert generator_loss(fake).item() == pytest.approx(nonsat, rel=1e-6)


def test_saturating_gradient_vanishes_where_nonsaturating_does_not():
    # D confidently rejects the fake: D(G(z)) = 1e-4
    l1 = torch.tensor([logit(1e-4)], requires_grad=True)
    l2 = torch.tensor([logit(1e-4)], requires_grad=True)
    generator_loss_saturating(l1).backward()
    generator_loss_nonsaturating(l2).backward()
    assert abs(l1.grad.item()) < 1e-3 < 0.99 < abs(l2.grad.item())


def test_stable_at_extreme_logits_and_bf16():
    big = torch.tensor([80.0, -80.0])
    for v in (
        discriminator_loss(big, -big),
        generator_loss_nonsaturating(big),
        generator_loss_saturating(big),
    ):
        assert torch.isfinite(v)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = torch.randn(4, 3)
        lin = torch.nn.Linear(3, 1)
        assert torch.isfinite(discriminator_loss(lin(x).flatten(), lin(-x).flatten()))


def test_unknown_loss():
    with pytest.raises(ValueError, match="non_saturating"):
        generator_loss(torch.zeros(2), "wasserstein")


def test_hinge_losses_match_formulas():
    from dcgan_lib.losses import discriminator_loss_hinge, generator_loss_hinge

    real = torch.tensor([2.0, 0.5, -1.0])  # margins: 0, 0.5, 2
    fake = torch.tensor([-3.0, 0.0])  # margins: 0, 1
    assert discriminator_loss_hinge(real, fake).item() == pytest.approx(2.5 / 3 + 0.5)
    assert generator_loss_hinge(fake).item() == pytest.approx(1.5)


def test_r1_penalty_is_half_gamma_times_the_squared_input_gradient():
    from dcgan_lib.losses import r1_penalty

    w = torch.tensor([[1.0, -2.0, 0.5]])  # a linear D: l(x) = w . x, gradient w everywhere
    D = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        D.weight.copy_(w)
    real = torch.randn(5, 3)
    penalty = r1_penalty(lambda x: D(x).squeeze(1), real, gamma=10.0)
    assert penalty.item() == pytest.approx(10.0 / 2 * float(w.pow(2).sum()))
    penalty.backward()  # a graph through the gradient: D can be trained on it
    assert torch.allclose(D.weight.grad, 10.0 * w)  # d/dw of 5 ||w||^2
    with pytest.raises(ValueError, match="gamma"):
        r1_penalty(D, real, gamma=-1)
