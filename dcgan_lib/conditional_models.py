"""The conditional DCGAN pair: a generator told which class to draw, a discriminator told
which class to judge.

* :class:`ConditionalGenerator` -- ``G(z, y)``: the book's :class:`~dcgan_lib.models.Generator`
  whose input is the noise z concatenated with a learned embedding of the label y, the
  conditioning of Mirza & Osindero (2014, "Conditional Generative Adversarial Nets"), who feed
  a one-hot y beside z. A one-hot y into the first (linear) layer adds one learned vector per
  class, which is what an embedding of ``embed_dim >= n_classes`` gives too; the default
  ``embed_dim = n_classes`` has that capacity.
* :class:`ProjectionDiscriminator` -- ``D(x, y)``: the projection discriminator of Miyato &
  Koyama (2018, "cGANs with Projection Discriminator"), logit = psi(phi(x)) + <embed(y), phi(x)>,
  built on the book's :class:`~dcgan_lib.models.Discriminator` (see its docstring for phi).
* :func:`check_labels` -- labels as the pair takes them, with one-line errors.

Both record ``.config`` and are registered with :func:`~dcgan_lib.models.register_model`, so
checkpoints rebuild them. Nothing here imports the rest of dcgan_lib but :mod:`.models`.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import Discriminator, Generator, _check_positive_int, _Configurable, register_model

__all__ = ["ConditionalGenerator", "ProjectionDiscriminator", "check_labels", "cycled_labels"]


def check_labels(y, n_classes: int, batch: int | None = None, check_range=None) -> torch.Tensor:
    """``y`` if it is a tensor of integer class indices (B,) in [0, n_classes); else a
    one-line TypeError/ValueError saying what is wrong and what to pass.

    ``check_range``: look at the values (None: only for a CPU tensor, where it costs no
    device sync; the trainer checks a GPU run's labels once, at the door)."""
    if not torch.is_tensor(y):
        raise TypeError(
            f"labels must be a tensor of class indices, got {type(y).__name__}; "
            "pass torch.tensor(labels) (int64)"
        )
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(
            f"labels must be integer class indices (int64), got {y.dtype}: pass y.long() "
            "(class numbers, not one-hot vectors or probabilities)"
        )
    if y.dim() != 1 or (batch is not None and len(y) != batch):
        want = f"({batch},)" if batch is not None else "(B,)"
        raise ValueError(
            f"labels must have shape {want}, one class index per example, got {tuple(y.shape)}"
        )
    if check_range is None:
        check_range = y.device.type == "cpu" and not torch.compiler.is_compiling()
    if check_range and y.numel():
        lo, hi = (int(v) for v in torch.aminmax(y))
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"labels must lie in [0, {n_classes}) (n_classes={n_classes}), got values from "
                f"{lo} to {hi}: build the models with the data's number of classes"
            )
    return y


def cycled_labels(n: int, n_classes: int, device=None) -> torch.Tensor:
    """0, 1, ..., n_classes - 1, 0, 1, ...: ``n`` labels, each class as often as it can be."""
    return torch.arange(n, device=device) % n_classes


@register_model
class ConditionalGenerator(_Configurable):
    """``G(z, y)``: noise z (B, latent_dim) and labels y (B,) -> images (B, channels,
    image_size, image_size) in [-1, 1], the book's DCGAN generator fed cat(z, embed(y)).

    ``.latent_dim`` is the size of the noise alone (what the trainer draws); the generator
    inside (``.body``) takes ``latent_dim + embed_dim``. Without ``y``, ``G(z)`` draws the
    classes in turn (0, 1, ..., n_classes - 1, 0, ...), so the unconditional tools of the
    book (sampling, ``evaluate``, the trainer's fixed-noise grids) get a class-balanced mix.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 32,
        channels: int = 1,
        width: int = 32,
        n_classes: int = 10,
        embed_dim: int | None = None,
    ):
        super().__init__()
        _check_positive_int("n_classes", n_classes)
        embed_dim = n_classes if embed_dim is None else _check_positive_int("embed_dim", embed_dim)
        _check_positive_int("latent_dim", latent_dim)
        self.body = Generator(latent_dim + embed_dim, image_size, channels, width)
        self._record(
            latent_dim=latent_dim,
            image_size=image_size,
            channels=channels,
            width=width,
            n_classes=n_classes,
            embed_dim=embed_dim,
        )
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.n_classes, self.embed_dim = n_classes, embed_dim
        self.embed = nn.Embedding(n_classes, embed_dim)  # N(0, 1) rows: the scale of z

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = z.flatten(1)  # (B, latent_dim, 1, 1) or (B, latent_dim) -> (B, latent_dim)
        if z.shape[1] != self.latent_dim:
            raise ValueError(
                f"this ConditionalGenerator takes noise of size {self.latent_dim}, got "
                f"{tuple(z.shape)}"
            )
        if y is None:
            y = cycled_labels(len(z), self.n_classes, z.device)
        check_labels(y, self.n_classes, len(z))
        return self.body(torch.cat([z, self.embed(y).to(z.dtype)], 1))


@register_model
class ProjectionDiscriminator(_Configurable):
    """``D(x, y)``: images (B, channels, image_size, image_size) and labels (B,) -> logits
    (B,), with logit = psi(phi(x)) + <embed(y), pool(phi(x))> (Miyato & Koyama 2018, eq. 3).

    phi is the book's DCGAN discriminator's convolutional stages (``.body.net[:-1]``), which
    end in a 4x4 map of c = width * 2^(stages - 1) channels; psi is that discriminator's own
    last layer, the 4x4 convolution that reads the map to one logit. So the unconditional
    term is exactly the book's Discriminator, which is what this model is with the embedding
    at zero. The class term pools the 4x4 map by a global sum, as the paper's discriminators
    do (sum pooling after their last ReLU), so each class has one c-vector and the class
    evidence counts wherever in the image it lies. Flattening the map instead would give each
    class 16 c values tied to positions; the sum is that same projection with the 16 copies
    of embed(y) tied, which is the paper's form with phi the pooled features.
    :meth:`features` returns those pooled features (B, c).

    The embedding starts N(0, 0.02), DCGAN's initialisation of every weight.
    """

    def __init__(
        self, image_size: int = 32, channels: int = 1, width: int = 32, n_classes: int = 10
    ):
        super().__init__()
        _check_positive_int("n_classes", n_classes)
        self.body = Discriminator(image_size, channels, width)
        self._record(image_size=image_size, channels=channels, width=width, n_classes=n_classes)
        self.image_size, self.channels, self.n_classes = image_size, channels, n_classes
        self.feature_dim = self.body.net[-1].in_channels  # c of the 4x4 map
        self.embed = nn.Embedding(n_classes, self.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def _maps(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.channels, self.image_size
        if x.dim() != 4 or x.shape[1:] != (c, s, s):
            raise ValueError(
                f"this ProjectionDiscriminator takes images of shape (B, {c}, {s}, {s}), got "
                f"{tuple(x.shape)}; load the data at image_size={s} with {c} channel(s)"
            )
        return self.body.net[:-1](x)  # phi: (B, c, 4, 4)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The globally sum-pooled 4x4 map (B, c) that the class embedding is projected on."""
        return self._maps(x).sum((2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_labels(y, self.n_classes, len(x))
        maps = self._maps(x)
        unconditional = self.body.net[-1](maps).flatten()  # psi(phi(x)): (B,)
        projection = (self.embed(y).to(maps.dtype) * maps.sum((2, 3))).sum(1)  # (B,)
        return unconditional + projection
