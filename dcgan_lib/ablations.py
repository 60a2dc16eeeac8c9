"""The DCGAN pair with one of the paper's BatchNorm guidelines broken, for the ablations.

Radford et al. (2016) put BatchNorm in every layer of both networks except two: "not
applying batchnorm to the generator output layer and the discriminator input layer"; applied
to all layers it "resulted in sample oscillation and model instability". These classes put it
back at exactly those places and change nothing else:

* :class:`InputBatchNormDiscriminator`: the book's ``Discriminator`` with a BatchNorm after its
  first convolution (before the LeakyReLU), where the guideline leaves it out;
* :class:`OutputBatchNormGenerator`: the book's ``Generator`` with a BatchNorm between its last
  transposed convolution and the Tanh.

The added BatchNorm starts at scale 1 and shift 0 and draws no random numbers, so with the
same seed every convolution starts with the same weights as in the guideline pair. Both are
registered models: a checkpoint rebuilds them by name.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import Discriminator, Generator, register_model

__all__ = ["InputBatchNormDiscriminator", "OutputBatchNormGenerator", "make_ablation_pair"]


@register_model
class OutputBatchNormGenerator(Generator):
    """``Generator`` with BatchNorm at its output: (B, latent_dim) -> (B, channels, s, s)."""

    def __init__(
        self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 128
    ):
        super().__init__(latent_dim, image_size, channels, width)
        self.config["class"] = type(self).__name__
        self.net.insert(len(self.net) - 1, nn.BatchNorm2d(channels))  # before the Tanh


@register_model
class InputBatchNormDiscriminator(Discriminator):
    """``Discriminator`` with BatchNorm after its first convolution: (B, c, s, s) -> (B,)."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 128):
        super().__init__(image_size, channels, width)
        self.config["class"] = type(self).__name__
        self.net.insert(1, nn.BatchNorm2d(width))  # after the first convolution


def make_ablation_pair(
    batchnorm: str, image_shape=(1, 32, 32), latent_dim: int = 100, width: int = 32, seed=None
) -> tuple[nn.Module, nn.Module]:
    """A fresh DCGAN pair with BatchNorm placed as ``batchnorm`` says.

    ``"guideline"``: the paper's pair (none at G's output or D's input); ``"d_input"``: also after
    D's first convolution; ``"everywhere"``: also at G's output. ``seed``: as in ``make_pair``.
    """
    kinds = {
        "guideline": (Generator, Discriminator),
        "d_input": (Generator, InputBatchNormDiscriminator),
        "everywhere": (OutputBatchNormGenerator, InputBatchNormDiscriminator),
    }
    if batchnorm not in kinds:
        raise ValueError(f"batchnorm must be one of {', '.join(kinds)}, got {batchnorm!r}")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"image_shape must be (channels, size, size), got {shape}")
    if seed is not None:
        torch.manual_seed(seed)
    g_class, d_class = kinds[batchnorm]
    return g_class(latent_dim, shape[1], shape[0], width), d_class(shape[1], shape[0], width)
