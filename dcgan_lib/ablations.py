"""The DCGAN pair with the paper's guidelines broken one at a time, for the ablations.

Radford et al. (2016, section 3) list the rules of a stable deep convolutional GAN: strided
convolutions instead of pooling, no fully connected hidden layers, BatchNorm in both networks
except "the generator output layer and the discriminator input layer", ReLU in the generator
with Tanh at its output, LeakyReLU in the discriminator; section 4 adds N(0, 0.02) weights.
:class:`AblatedGenerator` and :class:`AblatedDiscriminator` are the book's pair with a switch
for each rule; with every switch at its default they are the book's pair, layer for layer and,
from the same seed, weight for weight. :data:`ABLATIONS` names the variants chapter 09 trains.

The BatchNorm placements of chapter 04 keep their own two classes:

* :class:`InputBatchNormDiscriminator`: the book's ``Discriminator`` with a BatchNorm after its
  first convolution (before the LeakyReLU), where the guideline leaves it out;
* :class:`OutputBatchNormGenerator`: the book's ``Generator`` with a BatchNorm between its last
  transposed convolution and the Tanh.

In those two the added BatchNorm starts at scale 1 and shift 0 and draws no random numbers, so
with the same seed every convolution starts with the same weights as in the guideline pair. In
the ablated pair every BatchNorm, added or not, gets the same N(1, 0.02) scale as the book's
(``dcgan_init``), so there a seed's draws shift after an added one. All four are registered
models: a checkpoint rebuilds them by name.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import (
    Discriminator,
    Generator,
    _check_positive_int,
    _Configurable,
    _num_stages,
    dcgan_init,
    register_model,
)

__all__ = [
    "ABLATIONS",
    "AblatedDiscriminator",
    "AblatedGenerator",
    "InputBatchNormDiscriminator",
    "OutputBatchNormGenerator",
    "make_ablation_pair",
]


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


# ---------------------------------------------------------------------------------------
# Every guideline, with a switch

_CHOICES = {
    "batchnorm": ("hidden", "none", "all"),
    "resample": ("strided", "pooling"),
    "kernel": (3, 4, 5),
    "init": ("dcgan", "default"),
}


def _options(fc_hidden, **options) -> dict:
    for name, value in options.items():
        if value not in _CHOICES.get(name, ()):
            choices = ", ".join(map(repr, _CHOICES.get(name, ())))
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    if isinstance(fc_hidden, bool) or not isinstance(fc_hidden, int) or fc_hidden < 0:
        raise ValueError(f"fc_hidden must be 0 (none) or a layer size, got {fc_hidden!r}")
    return {**options, "fc_hidden": fc_hidden}


def _norm(c: int, on: bool, dims: int = 2) -> list[nn.Module]:
    return [(nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(c)] if on else []


def _same_conv(c_in: int, c_out: int, kernel: int, bias: bool) -> list[nn.Module]:
    """A stride-1 convolution that keeps the map's size, for odd and even kernels alike."""
    lo, hi = (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2
    return [nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(c_in, c_out, kernel, bias=bias)]


def _up(c_in: int, c_out: int, resample: str, kernel: int, bias: bool) -> list[nn.Module]:
    """(B, c_in, s, s) -> (B, c_out, 2s, 2s)."""
    if resample == "pooling":  # upsampling, then a convolution
        return [nn.Upsample(scale_factor=2, mode="nearest"), *_same_conv(c_in, c_out, kernel, bias)]
    pad = (kernel - 1) // 2  # with output_padding, 2s for kernels 3, 4 and 5 alike
    return [nn.ConvTranspose2d(c_in, c_out, kernel, 2, pad, kernel % 2, bias=bias)]


def _down(c_in: int, c_out: int, resample: str, kernel: int, bias: bool) -> list[nn.Module]:
    """(B, c_in, s, s) -> (B, c_out, s/2, s/2)."""
    if resample == "pooling":  # a convolution, then max pooling
        return [*_same_conv(c_in, c_out, kernel, bias), nn.MaxPool2d(2)]
    return [nn.Conv2d(c_in, c_out, kernel, 2, (kernel - 1) // 2, bias=bias)]


@register_model
class AblatedGenerator(Generator):
    """The book's ``Generator`` with guidelines switched off: (B, latent_dim) -> (B, c, s, s).

    ``batchnorm``: "hidden" (the guideline: every layer but the output), "none", or "all"
    (also before the output). ``resample``: "strided" (transposed convolutions) or "pooling"
    (nearest-neighbour upsampling, then a stride-1 convolution). ``kernel``: of every
    upsampling stage, 3, 4 or 5 (the 1x1 -> 4x4 projection keeps 4). ``fc_hidden``: when > 0, a
    fully connected hidden layer of that size between z and the projection. ``tanh``: False
    leaves the output linear. ``init``: "dcgan" (N(0, 0.02)) or "default" (PyTorch's).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 64,
        channels: int = 3,
        width: int = 128,
        batchnorm: str = "hidden",
        resample: str = "strided",
        kernel: int = 4,
        fc_hidden: int = 0,
        tanh: bool = True,
        init: str = "dcgan",
    ):
        _Configurable.__init__(self)
        for name, value in (("latent_dim", latent_dim), ("channels", channels), ("width", width)):
            _check_positive_int(name, value)
        n = _num_stages(image_size)
        opts = _options(fc_hidden, batchnorm=batchnorm, resample=resample, kernel=kernel, init=init)
        self._record(
            latent_dim=latent_dim, image_size=image_size, channels=channels, width=width,
            **opts, tanh=bool(tanh),
        )  # fmt: skip
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        bn, c = batchnorm != "none", width * 2 ** (n - 1)
        layers = []
        if fc_hidden:  # (B, latent_dim, 1, 1) -> (B, fc_hidden, 1, 1)
            layers += [nn.Flatten(), nn.Linear(latent_dim, fc_hidden, bias=not bn)]
            layers += [*_norm(fc_hidden, bn, 1), nn.ReLU(inplace=True), nn.Unflatten(1, (-1, 1, 1))]
        layers += [nn.ConvTranspose2d(fc_hidden or latent_dim, c, 4, 1, 0, bias=not bn)]
        layers += [*_norm(c, bn), nn.ReLU(inplace=True)]
        for _ in range(n - 1):  # a bias only where no BatchNorm follows to remove it
            layers += [*_up(c, c // 2, resample, kernel, not bn), *_norm(c // 2, bn)]
            layers += [nn.ReLU(inplace=True)]
            c //= 2
        layers += [*_up(c, channels, resample, kernel, False), *_norm(channels, batchnorm == "all")]
        layers += [nn.Tanh()] if tanh else []
        self.net = nn.Sequential(*layers)
        if init == "dcgan":
            self.apply(dcgan_init)


@register_model
class AblatedDiscriminator(Discriminator):
    """The book's ``Discriminator`` with guidelines switched off: (B, c, s, s) -> logits (B,).

    ``batchnorm``: "hidden" (every layer but the input), "none", or "all" (also after the
    first convolution). ``resample``: "strided" or "pooling" (a stride-1 convolution, then max
    pooling). ``kernel``: of every downsampling stage (the 4x4 read-out keeps 4). ``fc_hidden``:
    when > 0, the 4x4 map is flattened into a fully connected hidden layer of that size before
    the logit. ``leaky``: False puts ReLU where LeakyReLU(0.2) was. ``init``: as for the G.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        width: int = 128,
        batchnorm: str = "hidden",
        resample: str = "strided",
        kernel: int = 4,
        fc_hidden: int = 0,
        leaky: bool = True,
        init: str = "dcgan",
    ):
        _Configurable.__init__(self)
        _check_positive_int("channels", channels)
        _check_positive_int("width", width)
        n = _num_stages(image_size)
        opts = _options(fc_hidden, batchnorm=batchnorm, resample=resample, kernel=kernel, init=init)
        self._record(
            image_size=image_size, channels=channels, width=width, **opts, leaky=bool(leaky)
        )
        self.image_size, self.channels = image_size, channels
        bn, c = batchnorm != "none", width

        def act():
            return nn.LeakyReLU(0.2, inplace=True) if leaky else nn.ReLU(inplace=True)

        layers = [*_down(channels, c, resample, kernel, False), *_norm(c, batchnorm == "all")]
        layers += [act()]
        for _ in range(n - 1):  # a bias only where no BatchNorm follows to remove it
            layers += [*_down(c, c * 2, resample, kernel, not bn), *_norm(c * 2, bn), act()]
            c *= 2
        if fc_hidden:  # (B, c, 4, 4) -> (B, fc_hidden) -> (B, 1)
            layers += [nn.Flatten(), nn.Linear(c * 16, fc_hidden, bias=not bn)]
            layers += [*_norm(fc_hidden, bn, 1), act(), nn.Linear(fc_hidden, 1, bias=False)]
        else:
            layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        if init == "dcgan":
            self.apply(dcgan_init)


FC_HIDDEN = 256  # the hidden layer of the "fully connected" variants
_EVERY_RULE_BROKEN = dict(batchnorm="none", resample="pooling", fc_hidden=FC_HIDDEN, init="default")
# name -> (what it changes, generator options, discriminator options)
ABLATIONS = {
    "guideline": ("the paper's pair", {}, {}),
    "no_batchnorm": ("no BatchNorm anywhere", {"batchnorm": "none"}, {"batchnorm": "none"}),
    "batchnorm_everywhere": (
        "BatchNorm also at G's output and after D's first convolution",
        {"batchnorm": "all"},
        {"batchnorm": "all"},
    ),
    "pooling": (
        "nearest upsampling in G and max pooling in D, stride-1 convolutions",
        {"resample": "pooling"},
        {"resample": "pooling"},
    ),
    "fc_hidden": (
        f"a fully connected hidden layer of {FC_HIDDEN} in G and in D",
        {"fc_hidden": FC_HIDDEN},
        {"fc_hidden": FC_HIDDEN},
    ),
    "relu_d": ("ReLU instead of LeakyReLU(0.2) in D", {}, {"leaky": False}),
    "no_tanh": ("a linear output in G instead of Tanh", {"tanh": False}, {}),
    "default_init": ("PyTorch's default initialisation", {"init": "default"}, {"init": "default"}),
    "kernel_3": ("3x3 kernels in the stride-2 stages", {"kernel": 3}, {"kernel": 3}),
    "kernel_5": ("5x5 kernels in the stride-2 stages", {"kernel": 5}, {"kernel": 5}),
    "no_guidelines": (
        "every rule above broken at once (a pre-DCGAN convolutional GAN)",
        {**_EVERY_RULE_BROKEN, "tanh": False},
        {**_EVERY_RULE_BROKEN, "leaky": False},
    ),
}
_BATCHNORM_PLACEMENTS = {  # chapter 04's classes
    "d_input": (Generator, InputBatchNormDiscriminator),
    "everywhere": (OutputBatchNormGenerator, InputBatchNormDiscriminator),
}


def make_ablation_pair(
    ablation: str, image_shape=(1, 32, 32), latent_dim: int = 100, width: int = 32, seed=None
) -> tuple[nn.Module, nn.Module]:
    """A fresh DCGAN pair with one guideline broken, as ``ablation`` names it.

    A key of :data:`ABLATIONS` ("guideline": the book's own Generator and Discriminator), or
    one of chapter 04's BatchNorm placements: "d_input" (also after D's first convolution) and
    "everywhere" (that, and before G's Tanh). ``seed``: as in ``make_pair``.
    """
    if ablation not in ABLATIONS and ablation not in _BATCHNORM_PLACEMENTS:
        names = ", ".join([*ABLATIONS, *_BATCHNORM_PLACEMENTS])
        raise ValueError(f"ablation must be one of {names}, got {ablation!r}")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"image_shape must be (channels, size, size), got {shape}")
    if seed is not None:
        torch.manual_seed(seed)
    channels, size = shape[0], shape[1]
    if ablation in _BATCHNORM_PLACEMENTS:
        g_class, d_class = _BATCHNORM_PLACEMENTS[ablation]
        return g_class(latent_dim, size, channels, width), d_class(size, channels, width)
    if ablation == "guideline":
        return Generator(latent_dim, size, channels, width), Discriminator(size, channels, width)
    _, g_options, d_options = ABLATIONS[ablation]
    G = AblatedGenerator(latent_dim, size, channels, width, **g_options)
    return G, AblatedDiscriminator(size, channels, width, **d_options)
