"""The discriminator as a feature learner (notebooks/11_discriminator_features).

Radford et al. (2016, section 5.1) used a trained DCGAN discriminator as a feature extractor:
the output of every convolutional layer, max-pooled to a 4x4 grid, flattened and
concatenated, fed to a linear classifier. This module holds that pipeline and what the
chapter compares it with:

* :func:`hidden_maps`: the activation maps of D's hidden stages, first to last;
* :func:`pool_to_grid`: each map max-pooled to ``grid`` x ``grid``, flattened, concatenated;
* :func:`discriminator_features`: the two over a whole image set, batch by batch;
* :func:`balanced_subset`: a labelled subset with as many images of every class;
* :func:`linear_probe`: a linear classifier with an L2 penalty (scikit-learn's logistic
  regression) on features, scored on a test set;
* :class:`DiscriminatorClassifier`: D's architecture trained as a supervised classifier
  (the paper's baseline on SVHN), trained by ``features.train_classifier``;
* :func:`receptive_field`, :func:`top_patches`: the image patches that excite a unit most;
  :func:`class_purity`: how often a unit's top images share one class, stage by stage.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from .models import Discriminator, dcgan_init, register_model, unwrap_model

__all__ = [
    "hidden_maps",
    "pool_to_grid",
    "discriminator_features",
    "balanced_subset",
    "linear_probe",
    "DiscriminatorClassifier",
    "receptive_field",
    "top_patches",
    "class_purity",
]


def _stages(discriminator: nn.Module) -> nn.Sequential:
    net = getattr(unwrap_model(discriminator), "net", None)
    if not isinstance(net, nn.Sequential) or not any(isinstance(m, nn.LeakyReLU) for m in net):
        raise ValueError(
            f"expected a dcgan_lib Discriminator (a .net of conv stages ending in LeakyReLU), "
            f"got {type(discriminator).__name__}; build one with make_pair or load_model"
        )
    return net


def hidden_maps(discriminator: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of each hidden stage of ``discriminator`` (after its LeakyReLU), first to
    last: for a 32x32 D of width 32, (B, 32, 16, 16), (B, 64, 8, 8), (B, 128, 4, 4). The last
    convolution, which reads the 4x4 map to one logit, is not a hidden stage."""
    maps = []
    for module in _stages(discriminator):
        x = module(x)
        if isinstance(module, nn.LeakyReLU):
            maps.append(x)
    return maps


def pool_to_grid(maps: list[torch.Tensor], grid: int = 4) -> torch.Tensor:
    """Max-pool every map (B, C_l, H_l, W_l) to (B, C_l, grid, grid), flatten each in
    (channel, row, column) order and concatenate them in layer order: (B, sum_l C_l grid^2)."""
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
        raise ValueError(f"grid must be a positive int (4 in the paper), got {grid!r}")
    too_small = [tuple(m.shape[-2:]) for m in maps if min(m.shape[-2:]) < grid]
    if too_small:
        raise ValueError(f"maps of size {too_small} are smaller than the {grid}x{grid} grid")
    return torch.cat([F.adaptive_max_pool2d(m, grid).flatten(1) for m in maps], dim=1)


@torch.no_grad()
def discriminator_features(
    discriminator: nn.Module, images, grid: int = 4, batch_size: int = 500
) -> torch.Tensor:
    """Section 5.1's features of ``images`` (n, C, H, W) in [-1, 1]: :func:`pool_to_grid` of
    :func:`hidden_maps`, in eval mode (BatchNorm's running statistics), batch by batch, so the
    full-size maps of a large set never sit in memory at once. Returns (n, d) float32 on the
    CPU; the discriminator's train/eval mode is restored."""
    images = torch.as_tensor(images)
    inner = unwrap_model(discriminator)
    c, s = getattr(inner, "channels", None), getattr(inner, "image_size", None)
    if images.dim() != 4 or (c is not None and tuple(images.shape[1:]) != (c, s, s)):
        raise ValueError(
            f"images must be (n, {c}, {s}, {s}) for this discriminator, got "
            f"{tuple(images.shape)}; load the data at its image_size and channels"
        )
    device = next(discriminator.parameters()).device
    was_training = discriminator.training
    discriminator.eval()
    try:
        out = [
            pool_to_grid(hidden_maps(discriminator, images[i : i + batch_size].to(device)), grid)
            for i in range(0, len(images), batch_size)
        ]
    finally:
        discriminator.train(was_training)
    return torch.cat(out).float().cpu()


def balanced_subset(labels, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` labelled examples, ``n / k`` drawn at random from each of the ``k``
    classes (as the paper's 1,000 SVHN labels: "uniformly class distributed"); the whole set
    when ``n`` is its size. ``seed`` decides which; the same seed gives the same subset."""
    labels = torch.as_tensor(labels)
    classes = torch.unique(labels)
    if isinstance(n, bool) or not isinstance(n, int) or n < len(classes) or n > len(labels):
        raise ValueError(
            f"n must be an int from {len(classes)} (one per class) to {len(labels)}, got {n!r}"
        )
    if n == len(labels):
        return torch.arange(len(labels))
    if n % len(classes):
        raise ValueError(f"n must be a multiple of the {len(classes)} classes, got {n}")
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in classes:
        members = torch.nonzero(labels == c).flatten()
        if len(members) < n // len(classes):
            raise ValueError(f"class {int(c)} has only {len(members)} examples, fewer than n/k")
        picks.append(members[torch.randperm(len(members), generator=g)[: n // len(classes)]])
    order = torch.randperm(n, generator=g)
    return torch.cat(picks)[order]


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    C: float = 0.01,
    max_iter: int = 1000,
) -> dict:
    """A linear classifier with an L2 penalty on standardised features: multinomial logistic
    regression (scikit-learn's ``LogisticRegression``, L-BFGS), scored on the test features.
    Returns ``{"accuracy", "C", "n_train", "dims", "iterations", "seconds"}``. ``C`` is the
    inverse strength of the penalty (smaller: simpler weights). The paper's probe was an
    L2-SVM (squared hinge loss); logistic regression is its smooth cousin, fitted by L-BFGS."""
    x, y = np.asarray(train_features, np.float32), np.asarray(train_labels)
    xt, yt = np.asarray(test_features, np.float32), np.asarray(test_labels)
    if x.ndim != 2 or xt.ndim != 2 or x.shape[1] != xt.shape[1] or len(x) != len(y):
        raise ValueError(
            f"features must be (n, d) with one label each and the same d for train and test, "
            f"got {x.shape} with {len(y)} labels and {xt.shape}"
        )
    if not C > 0:
        raise ValueError(f"C must be positive, got {C!r}")
    t0 = time.perf_counter()
    scaler = StandardScaler().fit(x)
    with warnings.catch_warnings():  # a probe that stops at max_iter says so in "iterations"
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=C, max_iter=max_iter).fit(scaler.transform(x), y)
    accuracy = float((model.predict(scaler.transform(xt)) == yt).mean())
    return {
        "accuracy": accuracy,
        "C": C,
        "n_train": len(x),
        "dims": x.shape[1],
        "iterations": int(np.max(model.n_iter_)),
        "seconds": round(time.perf_counter() - t0, 2),
    }


@register_model
class DiscriminatorClassifier(nn.Module):
    """The DCGAN discriminator's architecture as a classifier: the same convolutional stages,
    then a read-out convolution of the 4x4 map to ``n_classes`` logits instead of one.
    Images (B, channels, image_size, image_size) -> logits (B, n_classes)."""

    def __init__(self, image_size: int = 32, channels: int = 1, width: int = 32, n_classes=10):
        super().__init__()
        self.config = {
            "class": "DiscriminatorClassifier",
            "kwargs": dict(
                image_size=image_size, channels=channels, width=width, n_classes=n_classes
            ),
        }
        self.image_size, self.channels, self.n_classes = image_size, channels, n_classes
        net = Discriminator(image_size, channels, width).net
        read_out = net[-1]  # Conv2d(c, 1, 4): the discriminator's logit
        head = nn.Conv2d(read_out.in_channels, n_classes, 4, 1, 0)  # (B, c, 4, 4) -> (B, k, 1, 1)
        self.net = nn.Sequential(*net[:-1], head)
        head.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (B, n_classes) logits


def receptive_field(discriminator: nn.Module, layer: int) -> tuple[int, int, int]:
    """(size, stride, offset) of a unit of hidden stage ``layer`` (0 = first): unit (i, j)
    sees input rows ``offset + stride*i`` to ``offset + stride*i + size - 1`` (the same for
    columns); rows below 0 or past the image are padding."""
    convs = [m for m in _stages(discriminator) if isinstance(m, nn.Conv2d)][:-1]
    if not 0 <= layer < len(convs):
        raise ValueError(f"layer must be from 0 to {len(convs) - 1}, got {layer!r}")
    size, stride, offset = 1, 1, 0
    for conv in convs[: layer + 1]:
        k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        size, offset, stride = size + (k - 1) * stride, offset - p * stride, stride * s
    return size, stride, offset


@torch.no_grad()
def top_patches(
    discriminator: nn.Module, images, layer: int, units=8, k: int = 8, batch_size: int = 500
) -> dict:
    """The ``k`` image patches that excite each chosen unit (channel) of hidden stage
    ``layer`` most: for every image, the unit's largest activation and where it is; the ``k``
    images with the largest, and the receptive field around that place, cropped (padding shows
    as -1, the background).

    ``units``: channel indices, or an int n for the n channels whose per-image maximum varies
    most across ``images`` (the units that tell images apart). Returns ``{"units", "patches"
    (len(units), k, C, size, size), "values" (len(units), k), "images" (indices), "size"}``.
    """
    images = torch.as_tensor(images)
    size, stride, offset = receptive_field(discriminator, layer)
    device = next(discriminator.parameters()).device
    was_training = discriminator.training
    discriminator.eval()
    peaks, where = [], []
    try:
        for i in range(0, len(images), batch_size):
            m = hidden_maps(discriminator, images[i : i + batch_size].to(device))[layer]
            value, flat = m.flatten(2).max(2)  # (B, channels): each unit's peak and its place
            peaks.append(value.cpu())
            where.append(flat.cpu())
        width = m.shape[-1]
    finally:
        discriminator.train(was_training)
    peaks, where = torch.cat(peaks), torch.cat(where)  # (n, channels)
    if isinstance(units, int):
        units = peaks.std(0).argsort(descending=True)[:units].tolist()
    units = [int(u) for u in units]
    values, picked = peaks[:, units].topk(k, dim=0)  # (k, len(units))
    padded = F.pad(images.float(), (size,) * 4, value=-1.0)  # crops near the edge stay whole
    patches = torch.empty(len(units), k, images.shape[1], size, size)
    for u, unit in enumerate(units):
        for j, n in enumerate(picked[:, u].tolist()):
            row, col = divmod(int(where[n, unit]), width)
            top, left = offset + stride * row + size, offset + stride * col + size
            patches[u, j] = padded[n, :, top : top + size, left : left + size]
    return {
        "units": units,
        "patches": patches,
        "values": values.T.contiguous(),
        "images": picked.T.contiguous(),
        "size": size,
    }


@torch.no_grad()
def class_purity(
    discriminator: nn.Module, images, labels, k: int = 16, batch_size: int = 500
) -> list[float]:
    """For each hidden stage, first to last: the mean over its units of the share of the unit's
    ``k`` top images (by peak activation) that belong to the unit's most common class among
    them. 1 means every unit fires most on images of one class; ``k`` images drawn at random
    give the level of chance."""
    labels = torch.as_tensor(labels)
    if len(labels) != len(images) or k > len(labels):
        raise ValueError(f"need one label per image and at least k={k} images")
    device = next(discriminator.parameters()).device
    was_training = discriminator.training
    discriminator.eval()
    try:
        peaks = [
            [m.flatten(2).amax(2).cpu() for m in hidden_maps(discriminator, x.to(device))]
            for x in torch.as_tensor(images).split(batch_size)
        ]
    finally:
        discriminator.train(was_training)
    purity = []
    for stage in zip(*peaks):
        top = torch.cat(stage).topk(k, dim=0).indices.T  # (units, k): each unit's top images
        classes = labels[top]
        purity.append((classes == classes.mode(1).values[:, None]).float().mean().item())
    return purity
