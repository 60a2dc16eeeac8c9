"""The stabilisers that came after DCGAN, as options of the trainer, each from its paper.

* **The hinge loss** (Lim & Ye 2017, "Geometric GAN"; used by Miyato et al. 2018 for
  SNGAN): D minimises E_x[max(0, 1 - l(x))] + E_z[max(0, 1 + l(G(z)))]
  and G minimises -E_z[l(G(z))], on D's raw output l. ``TrainConfig(loss="hinge")``
  changes both players' losses; ``"non_saturating"`` (the default) and ``"saturating"``
  keep D's binary cross-entropy and change only G's (:func:`discriminator_loss_of`,
  :func:`generator_loss_of`; the losses themselves are :mod:`.losses`').
* **The R1 penalty** (Mescheder et al. 2018, "Which training methods for GANs do actually
  converge?"): R1 = (gamma / 2) E_{x ~ p_data} ||grad_x l(x)||^2, on real data only,
  added to D's loss (``TrainConfig(r1_gamma=...)``; 0 = off). :func:`.losses.r1_penalty`
  computes it with a forward pass of its own on the real batch, outside autocast:
  BatchNorm's running statistics see that batch once more, and an ``SNDiscriminator``
  takes one more power iteration.
* **Spectral normalisation** (Miyato et al. 2018, "Spectral normalization for generative
  adversarial networks"): each weight W is used as W / sigma(W), sigma(W) its largest
  singular value (of the kernel reshaped to (out, in * k * k)), estimated by one step of
  power iteration per forward pass in training mode with a persistent vector u.
  :class:`SNDiscriminator` is the book's ``Discriminator`` with
  ``torch.nn.utils.parametrizations.spectral_norm`` on every convolution and, as in SNGAN,
  no BatchNorm; where BatchNorm's shift went, each convolution gets a bias (SNGAN's
  convolutions have them). It is a registered model: a checkpoint rebuilds it.
* **An exponential moving average of G's weights** (Yazici et al. 2019, "The unusual
  effectiveness of averaging in GAN training": theta_EMA(t) = beta theta_EMA(t - 1)
  + (1 - beta) theta(t), theta_EMA(0) = theta(0); Karras et al. 2018 used it in ProGAN with
  decay 0.999). ``TrainConfig(ema_decay=0.999)`` keeps such a copy, ``trainer.G_ema``
  (:func:`ema_copy`, :func:`update_ema`); it is averaged outside the game (G trains as
  before), its BatchNorm running statistics are copied from G, not averaged.
* **Two time-scale update rule** (Heusel et al. 2017): D and G with their own learning
  rates, ``TrainConfig(lr_d=..., lr_g=...)`` (SAGAN, Zhang et al. 2019: 4e-4 and 1e-4).
  No mechanism of its own.

:func:`check_stabilisers` checks the options' values (one-line ``ValueError`` naming the
option) and what they can run with.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .losses import (
    discriminator_loss,
    discriminator_loss_hinge,
    generator_loss_hinge,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)
from .models import Discriminator, register_model, unwrap_model

__all__ = [
    "LOSSES",
    "discriminator_loss_of",
    "generator_loss_of",
    "check_stabilisers",
    "SNDiscriminator",
    "ema_copy",
    "update_ema",
    "load_ema",
]

# TrainConfig.loss -> (D's loss, G's loss), each on logits and to be minimised
LOSSES = {
    "non_saturating": (discriminator_loss, generator_loss_nonsaturating),
    "saturating": (discriminator_loss, generator_loss_saturating),
    "hinge": (discriminator_loss_hinge, generator_loss_hinge),
}


def _losses(kind: str) -> tuple:
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))}, got {kind!r}")
    return LOSSES[kind]


def discriminator_loss_of(kind: str = "non_saturating"):
    """D's loss for ``TrainConfig.loss == kind``: ``discriminator_loss`` (-V) for the
    non-saturating and saturating games, ``discriminator_loss_hinge`` for the hinge loss."""
    return _losses(kind)[0]


def generator_loss_of(kind: str = "non_saturating"):
    """G's loss for ``TrainConfig.loss == kind``."""
    return _losses(kind)[1]


def check_stabilisers(config, precision=None, compiled=False, world: int = 1) -> None:
    """One-line ``ValueError``s for the stabilisers' options of a ``TrainConfig`` (``loss``,
    ``lr_g`` and ``lr_d``, ``r1_gamma``, ``ema_decay``); given the run's ``precision``
    ("fp32", "bf16", "fp16"), its ``compiled`` (``TrainConfig.compile``) and ``world`` size, for
    what the R1 penalty cannot run with."""
    _losses(config.loss)
    for name in ("lr_g", "lr_d"):  # two time-scales: each player its own (Heusel et al.)
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} must be positive, got {getattr(config, name)!r}")
    gamma, decay = config.r1_gamma, config.ema_decay
    number = (int, float)
    if isinstance(gamma, bool) or not isinstance(gamma, number) or not 0 <= gamma < math.inf:
        raise ValueError(f"r1_gamma must be a non-negative number (0 = off), got {gamma!r}")
    if isinstance(decay, bool) or not isinstance(decay, number) or not 0 <= decay < 1:
        raise ValueError(f"ema_decay must lie in [0, 1) (0 = off; typical 0.999), got {decay!r}")
    if gamma and precision == "fp16":
        raise ValueError(
            "r1_gamma needs bf16 or fp32: the fp16 gradient scaler would scale the penalty's "
            "input gradient too; pass amp=False (or use a GPU with bf16)"
        )
    if gamma and compiled not in (False, None):
        raise ValueError(
            "r1_gamma cannot run with compile (torch.compile has no double backward); "
            "pass compile=False"
        )
    if gamma and world > 1:
        raise ValueError(
            "r1_gamma is not supported under DistributedDataParallel (its double backward is "
            "untested there); train in one process, or pass r1_gamma=0"
        )


# ---------------------------------------------------------------------------------------
# Spectral normalisation


@register_model
class SNDiscriminator(Discriminator):
    """The book's ``Discriminator`` with spectral normalisation on every convolution and no
    BatchNorm (Miyato et al. 2018): images (B, channels, s, s) -> logits (B,).

    Built as ``Discriminator(image_size, channels, width)`` (the same initial kernels for
    the same seed), then each BatchNorm is dropped, each convolution gets a bias (zero at
    the start) and ``spectral_norm`` (one power iteration per forward pass in training
    mode; eval mode reuses the last estimate)."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 128):
        super().__init__(image_size, channels, width)
        self.config["class"] = type(self).__name__
        layers = []
        for layer in self.net:
            if isinstance(layer, nn.BatchNorm2d):
                continue
            if isinstance(layer, nn.Conv2d):
                layer.bias = nn.Parameter(torch.zeros(layer.out_channels))
                layer = spectral_norm(layer)
            layers.append(layer)
        self.net = nn.Sequential(*layers)


# ---------------------------------------------------------------------------------------
# The moving average of G's weights


def ema_copy(generator: nn.Module) -> nn.Module:
    """theta_EMA(0) = theta(0): a frozen copy of ``generator`` (unwrapped) in eval mode."""
    ema = copy.deepcopy(unwrap_model(generator))
    return ema.eval().requires_grad_(False)


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float) -> None:
    """theta_EMA <- decay * theta_EMA + (1 - decay) * theta for every parameter (Yazici et
    al. 2019); buffers (BatchNorm's running statistics) are copied from ``generator``."""
    model = unwrap_model(generator)
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.mul_(decay).add_(p.detach(), alpha=1 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def load_ema(ema: nn.Module | None, state: dict) -> None:
    """Restore ``ema`` (when there is one) from a trainer's state dict: its
    ``"generator_ema"``, or, in a state saved without one, its generator (theta_EMA = theta)."""
    if ema is not None:
        ema.load_state_dict(state.get("generator_ema", state["generator"])["state_dict"])
