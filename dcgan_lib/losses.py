"""GAN losses, written from the formulas, on discriminator logits.

With D(x) = sigmoid(l(x)) the value function of Goodfellow et al. (2014) is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

Working on logits keeps this exact and stable: log sigmoid(l) = -softplus(-l) and
log(1 - sigmoid(l)) = -softplus(l). Nothing here calls sigmoid on its own, so the losses
are safe under autocast (Sigmoid + BCELoss is refused there).

* ``discriminator_loss``: the discriminator maximises V, so it minimises -V.
* ``generator_loss_saturating``: the generator of the minimax game minimises
  E_z[log(1 - D(G(z)))]; its gradient vanishes when D confidently rejects fakes.
* ``generator_loss_nonsaturating``: the paper's practical fix, maximise E_z[log D(G(z))],
  i.e. minimise -E_z[log D(G(z))]; same fixed point, strong gradients early on.
* ``discriminator_loss_hinge`` / ``generator_loss_hinge``: the hinge loss of the GANs
  that came after DCGAN (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018):
  D minimises E[max(0, 1 - l(x))] + E[max(0, 1 + l(G(z)))], G minimises -E[l(G(z))].
* ``r1_penalty``: Mescheder et al. (2018)'s R1 regulariser, (gamma / 2) E_x ||grad_x l(x)||^2
  on real data only, added to D's loss: it pushes D's gradient towards zero on the data.
* ``gaussian_game``: the game in one dimension with Gaussian p_data and p_g, integrated
  numerically: the optimal discriminator D*, C(G) = max_D V(D, G) and JSD(p_data || p_g),
  which the theory chapter plots (Theorem 1: C(G) = -log 4 + 2 JSD), and KL(p_g || p_data);
  ``generator_objective``: a generator loss against the D* of one game, held fixed, for
  another p_g (its derivative is what a generator step follows; Arjovsky & Bottou 2017,
  Theorem 2.5: for the non-saturating loss, the gradient of KL(p_g || p_data) - 2 JSD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "GENERATOR_LOSSES",
    "discriminator_loss",
    "generator_loss",
    "generator_loss_saturating",
    "generator_loss_nonsaturating",
    "value_function",
    "discriminator_loss_hinge",
    "generator_loss_hinge",
    "r1_penalty",
    "GaussianGame",
    "gaussian_game",
    "generator_objective",
]


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-(E[log D(x)] + E[log(1 - D(G(z)))]): binary cross-entropy with real=1, fake=0."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """E[log(1 - D(G(z)))], the minimax generator loss (to be minimised)."""
    return -F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(G(z))], the non-saturating generator loss (to be minimised)."""
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES = {
    "non_saturating": generator_loss_nonsaturating,
    "saturating": generator_loss_saturating,
}


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator loss named ``kind`` (one of ``GENERATOR_LOSSES``)."""
    try:
        fn = GENERATOR_LOSSES[kind]
    except KeyError:
        raise ValueError(
            f"unknown generator loss {kind!r}; choose one of: {', '.join(GENERATOR_LOSSES)}"
        ) from None
    return fn(fake_logits)


def discriminator_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """E[max(0, 1 - l(x))] + E[max(0, 1 + l(G(z)))]: D is not pushed past a margin of 1."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def generator_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[l(G(z))], the generator's half of the hinge loss (to be minimised)."""
    return -fake_logits.mean()


def r1_penalty(discriminator, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """(gamma / 2) E_x ||grad_x l(x)||^2 over the real batch (Mescheder et al. 2018),
    with a graph (``create_graph``) so that D's loss can be minimised through it."""
    if not gamma >= 0:
        raise ValueError(f"gamma must be a non-negative number, got {gamma!r}")
    real = real.detach().requires_grad_(True)
    logits = discriminator(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return gamma / 2 * grad.pow(2).flatten(1).sum(1).mean()


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V(D, G) itself: E[log D(x)] + E[log(1 - D(G(z)))] (= -discriminator_loss)."""
    return -discriminator_loss(real_logits, fake_logits)


def _gaussian_logpdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))


@dataclass
class GaussianGame:
    """The GAN game for p_data = N(data_mu, data_sigma^2) and p_g = N(mu, sigma^2), on a grid."""

    mu: float
    sigma: float
    data_mu: float
    data_sigma: float
    x: np.ndarray  # the integration grid
    log_p_data: np.ndarray
    log_p_g: np.ndarray
    log_d_star: np.ndarray  # log D*(x), D* = p_data / (p_data + p_g)
    c_of_g: float  # C(G) = max_D V(D, G) = V(D*, G)
    jsd: float  # JSD(p_data || p_g), from its definition (mean KL to the mixture)
    kl_g_data: float  # KL(p_g || p_data), the "reverse" KL, from its definition

    @property
    def d_star(self) -> np.ndarray:
        return np.exp(self.log_d_star)


def gaussian_game(
    mu: float, sigma: float, data_mu: float = 0.0, data_sigma: float = 1.0
) -> GaussianGame:
    """D*, C(G) and the JSD for one-dimensional Gaussians, integrated numerically.

    A Riemann sum over +-14 standard deviations of both densities with at least 40 points
    per standard deviation (its error is far below 1e-9). Log-densities keep D* exact
    where a density underflows. C(G) and the JSD are computed independently, each from its
    own definition, so Theorem 1 of Goodfellow et al. (2014), C(G) = -log 4 + 2 JSD, is a
    check and not an identity of the code.
    """
    if not (sigma > 0 and data_sigma > 0):
        raise ValueError(
            f"standard deviations must be positive, got sigma={sigma}, data_sigma={data_sigma}"
        )
    lo = min(data_mu - 14 * data_sigma, mu - 14 * sigma)
    hi = max(data_mu + 14 * data_sigma, mu + 14 * sigma)
    n = min(2_000_001, max(40_001, int((hi - lo) / (min(sigma, data_sigma) / 40))))
    x = np.linspace(lo, hi, n)
    dx = x[1] - x[0]
    log_pd, log_pg = _gaussian_logpdf(x, data_mu, data_sigma), _gaussian_logpdf(x, mu, sigma)
    log_sum = np.logaddexp(log_pd, log_pg)
    log_d, log_1md = log_pd - log_sum, log_pg - log_sum  # log D*(x), log(1 - D*(x))
    c_of_g = float(np.sum(np.exp(log_pd) * log_d + np.exp(log_pg) * log_1md) * dx)
    log_m = log_sum - math.log(2)  # the mixture M = (p_data + p_g) / 2
    kl_data = np.sum(np.exp(log_pd) * (log_pd - log_m)) * dx
    kl_g = np.sum(np.exp(log_pg) * (log_pg - log_m)) * dx
    kl_g_data = np.sum(np.exp(log_pg) * (log_pg - log_pd)) * dx
    return GaussianGame(
        mu,
        sigma,
        data_mu,
        data_sigma,
        x,
        log_pd,
        log_pg,
        log_d,
        c_of_g,
        float((kl_data + kl_g) / 2),
        float(kl_g_data),
    )


def generator_objective(
    game: GaussianGame, mu: float, sigma: float, kind: str = "non_saturating"
) -> float:
    """A generator loss for p_g = N(mu, sigma^2) against the D* of ``game``, held fixed.

    ``kind="saturating"``: E_{p_g}[log(1 - D*(x))], the generator's part of V;
    ``"non_saturating"``: E_{p_g}[-log D*(x)]. D* is that of ``game``'s own generator, so
    the derivative in mu or sigma at (game.mu, game.sigma) is the gradient a generator step
    follows when its discriminator is optimal. Integrated on ``game``'s grid: keep (mu, sigma)
    near the game's own.
    """
    if kind not in GENERATOR_LOSSES:
        raise ValueError(
            f"unknown generator loss {kind!r}; choose one of: {', '.join(GENERATOR_LOSSES)}"
        )
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    log_d = game.log_d_star
    log_1md = game.log_p_g - np.logaddexp(game.log_p_data, game.log_p_g)  # log(1 - D*(x))
    per_point = -log_d if kind == "non_saturating" else log_1md
    dx = game.x[1] - game.x[0]
    return float(np.sum(np.exp(_gaussian_logpdf(game.x, mu, sigma)) * per_point) * dx)
