"""Feature extractors for the metrics: images in [-1, 1] -> feature vectors.

``feature_extractor(name)`` returns a :class:`FeatureExtractor`:

* ``classifier-fashion32``, ``classifier-digits16``: a small CNN classifier
  (:class:`Classifier`) trained by ``python -m dcgan_lib train-classifier``
  (:func:`train_classifier`), shipped in ``checkpoints/``; its penultimate layer gives the
  features and its predictions the class histogram. Offline and fast.
* ``inception-v3``: torchvision's ImageNet Inception-v3 (2048-d pool features) where its
  pretrained weights can be had. Its FIDs are close to, but not the same as, published
  FIDs, which use the TensorFlow Inception graph.
* ``pixels``: images resized to 16x16 and flattened; a baseline that needs no network.
* ``points``: 2-D toy data, their own features.

Every score reports the extractor's ``name``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint, load_model, pretrained
from .data import DATASETS, load_dataset
from .device import network_available, resolve_device
from .models import check_image_size, register_model

__all__ = [
    "CLASSIFIERS",
    "Classifier",
    "train_classifier",
    "load_classifier",
    "FeatureExtractor",
    "feature_extractor",
    "default_extractor",
    "WeightsUnavailableError",
]

# the classifier each dataset is scored with, and the shipped file holding it
CLASSIFIERS = {
    "classifier-fashion32": ("fashion-mnist", 32, "classifier_fashion32.pt"),
    "classifier-digits16": ("digits", 16, "classifier_digits16.pt"),
    "classifier-emoji64": ("emoji", 64, "classifier_emoji64.pt"),  # 10 categories, 82% held out
}
INCEPTION_HOST = ("download.pytorch.org", 443)


# -- the classifiers whose features score Fashion-MNIST, digits and emoji -----------------


@register_model
class Classifier(nn.Module):
    """A small CNN: images (B, channels, image_size, image_size) in [-1, 1] -> logits
    (B, n_classes).

    Each stage is conv3x3 -> BatchNorm -> ReLU -> 2x2 max-pool, doubling the channels, down to a
    4x4 map; global average pooling and a hidden layer give ``features(x)`` (B, feature_dim),
    the penultimate layer that FID and precision/recall compare.
    """

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        n_classes: int = 10,
        width: int = 16,
        feature_dim: int = 128,
    ):
        super().__init__()
        check_image_size(image_size, smallest=8)
        self.config = {
            "class": "Classifier",
            "kwargs": dict(
                image_size=image_size,
                channels=channels,
                n_classes=n_classes,
                width=width,
                feature_dim=feature_dim,
            ),
        }
        self.image_size, self.channels, self.n_classes = image_size, channels, n_classes
        layers, c_in, c = [], channels, width
        for _ in range(int(math.log2(image_size)) - 2):  # (B, c_in, s, s) -> (B, c, s/2, s/2)
            layers += [
                nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in, c = c, c * 2
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, c_in)
        self.hidden = nn.Sequential(nn.Linear(c_in, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(feature_dim, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.body(x))  # (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, n_classes) logits


@torch.no_grad()
def _accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, device, batch_size: int = 1000
) -> float:
    model.eval()
    correct = sum(
        int(
            (model(x[i : i + batch_size].to(device)).argmax(1).cpu() == y[i : i + batch_size]).sum()
        )
        for i in range(0, len(x), batch_size)
    )
    return correct / len(x)


def train_classifier(
    dataset: str = "fashion-mnist",
    image_size: int | None = None,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device="auto",
    data_dir=None,
    limit: int | None = None,
    width: int = 16,
    progress: bool = True,
    indices=None,
    model: nn.Module | None = None,
) -> tuple[Classifier, dict]:
    """Train a ``Classifier`` on a labelled dataset's train split; returns it (eval mode) and a
    record ``{"test_accuracy", "epochs", "steps", "wall_time_s", ...}`` measured on the test split.

    Adam with the learning rate decayed linearly to zero; no augmentation. ``indices``: train
    on these examples of the train split only (a labelled subset). ``model``: train this
    network (images -> class logits) instead of a fresh ``Classifier`` (seed it yourself).
    """
    device = resolve_device(device)
    train_set = load_dataset(dataset, image_size, "train", data_dir=data_dir, limit=limit)
    if indices is not None:
        idx = torch.as_tensor(indices, dtype=torch.long).flatten()
        if not len(idx) or int(idx.min()) < 0 or int(idx.max()) >= len(train_set):
            raise ValueError(f"indices must be positions in the {len(train_set)} training images")
        train_set = dataclasses.replace(train_set, x=train_set.x[idx], y=train_set.y[idx])
    test_set = load_dataset(dataset, image_size, "test", data_dir=data_dir)
    if train_set.y is None or not torch.is_tensor(train_set.x) or train_set.x.dim() != 4:
        raise ValueError(f"{dataset!r} has no labelled images to train a classifier on")
    c, size = train_set.x.shape[1], train_set.x.shape[-1]
    torch.manual_seed(seed)
    n_classes = len(train_set.class_names or range(int(train_set.y.max()) + 1))
    model = (model if model is not None else Classifier(size, c, n_classes, width)).to(device)
    steps_per_epoch = math.ceil(len(train_set) / batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / total)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    bar = tqdm(total=total, desc=f"classifier {dataset} {size}x{size}", disable=not progress)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(train_set), generator=g).split(batch_size):
            x, y = train_set.x[idx].to(device), train_set.y[idx].to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    record = {
        "dataset": train_set.name,
        "data_source": train_set.source,
        "image_size": size,
        "channels": c,
        "epochs": epochs,
        "steps": total,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "n_train": len(train_set),
        "n_test": len(test_set),
        "test_accuracy": round(_accuracy(model, test_set.x, test_set.y, device), 4),
        "wall_time_s": round(time.perf_counter() - t0, 1),
        "class_names": list(train_set.class_names or []),
    }
    return model.cpu().eval(), record


def load_classifier(path, map_location="cpu") -> tuple[Classifier, dict]:
    """The classifier and its meta record from a file written by ``train-classifier``."""
    model = load_model(path, "classifier", map_location)
    if not isinstance(model, Classifier):
        raise CheckpointError(f"{path} holds no classifier")
    return model, load_checkpoint(path, map_location).get("meta", {})


# -- feature extractors -------------------------------------------------------------------


class WeightsUnavailableError(FileNotFoundError):
    """Pretrained weights a feature extractor needs cannot be had (offline, no cache)."""


class FeatureExtractor:
    """A callable: images (n, C, H, W) in [-1, 1] -> features (n, d) float32 on the CPU.

    ``prepare`` brings any image batch to what ``network`` expects (channels, size, scaling);
    ``classifier`` (optional) maps the features to class logits, for the class histogram.
    Batches of ``batch_size`` go through the network without gradients.
    """

    def __init__(
        self,
        name: str,
        network,
        prepare,
        classifier=None,
        class_names=None,
        device="cpu",
        batch_size: int = 500,
    ):
        self.name, self.network, self.prepare, self.classifier = name, network, prepare, classifier
        self.class_names, self.device, self.batch_size = (
            class_names,
            torch.device(device),
            batch_size,
        )

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.name!r})"

    @torch.no_grad()
    def _map(self, fn, images) -> torch.Tensor:
        images = torch.as_tensor(images)
        out = [
            fn(self.prepare(images[i : i + self.batch_size].to(self.device).float())).float().cpu()
            for i in range(0, len(images), self.batch_size)
        ]
        return torch.cat(out)

    def __call__(self, images) -> torch.Tensor:
        return self._map(self.network, images).flatten(1)

    def classify(self, features) -> torch.Tensor:
        """Predicted class (n,) int64 from features this extractor made; only for classifier
        extractors."""
        if self.classifier is None:
            raise ValueError(
                f"the {self.name} extractor has no classifier; use a classifier-* extractor"
            )
        with torch.no_grad():
            return (
                self.classifier(torch.as_tensor(features).to(self.device).float()).argmax(1).cpu()
            )

    def predict(self, images) -> torch.Tensor:
        """Predicted class (n,) int64 of each image; only for classifier extractors."""
        return self.classify(self(images))


def _to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if channels == 1:  # RGB -> luma (ITU-R 601, as PIL's "L")
        return (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(
            1, keepdim=True
        )
    return x.expand(-1, channels, -1, -1)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def _classifier_extractor(name: str, device) -> FeatureExtractor:
    model, meta = load_classifier(pretrained(CLASSIFIERS[name][2]))
    model.to(device)
    size, c = model.image_size, model.channels
    return FeatureExtractor(
        name,
        model.features,
        lambda x: _resize(_to_channels(x, c), size),
        classifier=model.head,
        class_names=meta.get("class_names"),
        device=device,
    )


def _inception_extractor(device) -> FeatureExtractor:
    """torchvision's ImageNet Inception-v3 pool features (2048-d); fails fast offline."""
    # torchvision.models is imported only here: a few seconds, and only for Inception
    from torchvision.models import Inception_V3_Weights, inception_v3

    weights = Inception_V3_Weights.DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    message = (
        "pretrained Inception weights are unavailable offline ({}); use a classifier extractor "
        "instead (classifier-fashion32 or classifier-digits16, what --extractor auto picks for "
        "those datasets) or `pixels`, or run once with a network to cache "
        f"{weights.url} in {cached.parent}"
    )
    if not cached.is_file() and not network_available(*INCEPTION_HOST):
        raise WeightsUnavailableError(
            message.format(f"no cached copy and {INCEPTION_HOST[0]} does not answer")
        )
    try:
        model = inception_v3(weights=weights, progress=False)
    except Exception as e:  # URLError, HTTPError, a truncated download...
        raise WeightsUnavailableError(message.format(f"{type(e).__name__}: {e}")) from None
    model.fc = nn.Identity()  # (B, 2048) pool features instead of ImageNet logits
    model.eval().to(device)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)

    def prepare(x):  # [-1, 1], any size and channels -> ImageNet-normalised 3x299x299
        x = _resize(_to_channels(x, 3), 299)
        return ((x + 1) / 2 - mean) / std

    return FeatureExtractor("inception-v3", model, prepare, device=device, batch_size=100)


def _pixel_extractor(device, size: int = 16) -> FeatureExtractor:
    return FeatureExtractor("pixels", nn.Identity(), lambda x: _resize(x, size), device=device)


def default_extractor(dataset: str) -> str:
    """The extractor ``"auto"`` stands for on a dataset."""
    for name, (ds, _, _) in CLASSIFIERS.items():
        if ds == dataset:
            return name
    return "points" if dataset in ("ring", "grid") else "inception-v3"


def feature_extractor(
    name_or_dataset: str = "classifier-fashion32", device="cpu"
) -> FeatureExtractor:
    """A ``FeatureExtractor`` by name (``classifier-fashion32``, ``classifier-digits16``,
    ``inception-v3``, ``pixels``, ``points``) or by dataset (``fashion-mnist`` -> its classifier).
    Its ``.name`` says which it is; report it with every score."""
    device = resolve_device(device)
    name = str(name_or_dataset).lower().replace("_", "-")
    if name in DATASETS:
        name = default_extractor(name)
    if name in CLASSIFIERS:
        return _classifier_extractor(name, device)
    if name in ("inception-v3", "inception"):
        return _inception_extractor(device)
    if name == "pixels":
        return _pixel_extractor(device)
    if name == "points":  # 2-D toy data: the points are their own features
        return FeatureExtractor("points", nn.Identity(), lambda x: x, device=device)
    raise ValueError(
        f"unknown feature extractor {name_or_dataset!r}; choose one of: "
        f"{', '.join(CLASSIFIERS)}, inception-v3, pixels, points, or a dataset name"
    )
