"""The DCGAN authors' own networks, as their Theano code builds them.

Radford, Metz and Chintala's released code (github.com/Newmu/dcgan_code, the faces model in
``faces/train_uncond_dcgan.py``) differs from the PyTorch-era DCGAN that the book's
:class:`~dcgan_lib.models.Generator` follows (the PyTorch tutorial and pytorch/examples):

================================  =================================  ==========================
                                  the authors' code (this module)    the book's Generator
================================  =================================  ==========================
noise z                           uniform on [-1, 1]                 standard normal
projection of z to 4x4            fully connected, then BatchNorm    4x4 transposed convolution
                                  over its 16*c units, ReLU          (1x1 -> 4x4), BatchNorm
kernels                           5x5, stride 2, padding 2           4x4, stride 2, padding 1
D's read-out                      flatten, fully connected to 1      4x4 convolution to 1
biases                            none                               none
================================  =================================  ==========================

Everything else is shared: ReLU in G and LeakyReLU(0.2) in D, no BatchNorm on G's output or
on D's first layer, Tanh at G's end, weights N(0, 0.02) and BatchNorm scales N(1, 0.02)
(``dcgan_init``). Their BatchNorm's epsilon was 1e-8, PyTorch's default 1e-5 is kept here.
The feature-map shapes are the same: at width 128 and 64x64x3, 4x4x1024 -> ... -> 64x64x3.
The authors also trained with an L2 weight decay of 1e-5 on both networks.

The generator says which noise it takes (``latent_distribution = "uniform"``);
:func:`~dcgan_lib.models.draw_latent` draws it, and the sampling path uses it.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import _check_positive_int, _Configurable, _num_stages, dcgan_init, register_model

__all__ = ["AuthorsDiscriminator", "AuthorsGenerator"]

KERNEL, STRIDE, PADDING = 5, 2, 2  # the authors' convolutions: size-halving at any input


@register_model
class AuthorsGenerator(_Configurable):
    """The authors' generator: z ~ U(-1, 1) of shape (B, latent_dim) -> images
    (B, channels, image_size, image_size) in [-1, 1]."""

    latent_distribution = "uniform"

    def __init__(
        self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 128
    ):
        super().__init__()
        _check_positive_int("latent_dim", latent_dim)
        _check_positive_int("channels", channels)
        _check_positive_int("width", width)
        n = _num_stages(image_size)
        self._record(latent_dim=latent_dim, image_size=image_size, channels=channels, width=width)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels

        self.base = c = width * 2 ** (n - 1)  # channels of the 4x4 map: 1024 for 64x64 at 128
        # (B, latent_dim) -> (B, 16c): a matrix product, BatchNorm over each of the 16c units
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 16 * c, bias=False), nn.BatchNorm1d(16 * c), nn.ReLU(True)
        )
        layers = []
        for _ in range(n - 1):  # each stage: (B, c, s, s) -> (B, c/2, 2s, 2s)
            layers += [_up(c, c // 2), nn.BatchNorm2d(c // 2), nn.ReLU(inplace=True)]
            c //= 2
        layers += [_up(c, channels), nn.Tanh()]  # no BatchNorm on the output
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z.flatten(1))  # (B, latent_dim) or (B, latent_dim, 1, 1)
        return self.net(h.view(-1, self.base, 4, 4))


@register_model
class AuthorsDiscriminator(_Configurable):
    """The authors' discriminator: images (B, channels, image_size, image_size) -> logits
    (B,); their code applied the sigmoid, the book's losses take logits."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 128):
        super().__init__()
        _check_positive_int("channels", channels)
        _check_positive_int("width", width)
        n = _num_stages(image_size)
        self._record(image_size=image_size, channels=channels, width=width)
        self.image_size, self.channels = image_size, channels

        c = width
        layers = [nn.Conv2d(channels, c, KERNEL, STRIDE, PADDING, bias=False)]
        layers += [nn.LeakyReLU(0.2, inplace=True)]  # no BatchNorm on the first layer
        for _ in range(n - 1):  # each stage: (B, c, s, s) -> (B, 2c, s/2, s/2)
            layers += [
                nn.Conv2d(c, 2 * c, KERNEL, STRIDE, PADDING, bias=False),
                nn.BatchNorm2d(2 * c),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c *= 2
        self.net = nn.Sequential(*layers)
        self.read_out = nn.Linear(16 * c, 1, bias=False)  # flatten (B, c, 4, 4), one logit
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.channels, self.image_size
        if x.dim() != 4 or x.shape[1:] != (c, s, s):
            raise ValueError(
                f"this AuthorsDiscriminator takes images of shape (B, {c}, {s}, {s}), got "
                f"{tuple(x.shape)}; load the data at image_size={s} with {c} channel(s)"
            )
        return self.read_out(self.net(x).flatten(1)).flatten()


def _up(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    """A 5x5 transposed convolution that doubles the side exactly (their deconv, padding 2;
    PyTorch needs output_padding=1 to pick the even size)."""
    return nn.ConvTranspose2d(c_in, c_out, KERNEL, STRIDE, PADDING, output_padding=1, bias=False)
