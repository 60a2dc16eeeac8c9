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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "GENERATOR_LOSSES",
    "discriminator_loss",
    "generator_loss",
    "generator_loss_saturating",
    "generator_loss_nonsaturating",
    "value_function",
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
        raise ValueError(f"unknown generator loss {kind!r}; choose one of: {', '.join(GENERATOR_LOSSES)}") from None
    return fn(fake_logits)


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V(D, G) itself: E[log D(x)] + E[log(1 - D(G(z)))] (= -discriminator_loss)."""
    return -discriminator_loss(real_logits, fake_logits)
