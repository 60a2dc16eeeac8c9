"""Measuring what a generator learned: Frechet distance, FID, precision/recall, density/coverage,
mode counts and a memorisation check.

Every metric here compares a set of generated samples with a set of real ones (the held-out
test split), usually in the feature space of a network. The losses of a GAN say little about
the quality of its samples, so this module is how the book scores a generator.

Two numbers are never comparable unless they share a feature extractor and sample sizes: FID is
biased upwards at small n, and its scale depends on the features. So every score this module
prints names its extractor and n, e.g. ``FID (classifier-fashion32, n_real=2000, n_fake=2000)``.

Feature extractors (``feature_extractor(name)``):

* ``classifier-fashion32``, ``classifier-digits16``: a small CNN classifier (``Classifier``)
  trained by ``python -m dcgan_lib train-classifier``, shipped in ``checkpoints/``; its penultimate
  layer gives the features and its predictions the class histogram. Offline and fast.
* ``inception-v3``: torchvision's ImageNet Inception-v3 (2048-d pool features) where its
  pretrained weights can be had. Its FIDs are close to, but not the same as, published FIDs,
  which use the TensorFlow Inception graph.
* ``pixels``: images resized to 16x16 and flattened; a baseline that needs no network at all.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import DATASETS, _network_available, load_dataset, toy_mixture

__all__ = [
    "toy_mode_coverage", "frechet_distance", "gaussian_stats", "fid_from_features",
    "Classifier", "train_classifier", "load_classifier", "FeatureExtractor", "feature_extractor",
    "WeightsUnavailableError", "precision_recall", "ball_membership", "density_coverage", "class_histogram",
    "nearest_neighbours", "nearest_training_images", "sample_generator", "evaluate_features", "evaluate_samples",
    "evaluate", "format_results", "results_table", "add_evaluate_parser", "cmd_evaluate",
    "add_train_classifier_parser", "cmd_train_classifier",
]

# the classifier each dataset is scored with, and the shipped file holding it
CLASSIFIERS = {"classifier-fashion32": ("fashion-mnist", 32, "classifier_fashion32.pt"),
               "classifier-digits16": ("digits", 16, "classifier_digits16.pt")}
INCEPTION_HOST = ("download.pytorch.org", 443)


# -- 2-D toy mixtures ---------------------------------------------------------------------

def toy_mode_coverage(samples, centres, std: float, n_std: float = 3.0, min_count: int = 1) -> dict:
    """How many modes of a 2-D Gaussian mixture a set of samples covers.

    samples: (n, 2) points; centres: (K, 2) mixture means; std: the mixture's standard deviation.
    A sample is "high quality" when it lies within ``n_std * std`` of its nearest centre; a mode
    is hit when at least ``min_count`` high-quality samples belong to it.

    Returns ``{"modes_hit": int, "high_quality": float (fraction of samples), "counts": (K,) int64}``.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32).detach().cpu()
    centres = torch.as_tensor(centres, dtype=torch.float32).detach().cpu()
    if samples.dim() != 2 or samples.shape[1] != 2 or centres.dim() != 2 or centres.shape[1] != 2:
        raise ValueError(f"samples and centres must be (n, 2) and (K, 2), got {tuple(samples.shape)} "
                         f"and {tuple(centres.shape)}")
    if len(samples) == 0:
        raise ValueError("samples is empty")
    distance, nearest = torch.cdist(samples, centres).min(dim=1)    # (n,), (n,)
    close = distance <= n_std * std
    counts = torch.bincount(nearest[close], minlength=len(centres))  # (K,)
    return {"modes_hit": int((counts >= min_count).sum()), "high_quality": float(close.float().mean()),
            "counts": counts}


# -- Frechet distance ---------------------------------------------------------------------

def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2):

        ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})

    As in the reference FID code (Heusel et al. 2017): if the matrix square root is not finite
    (near-singular covariances, e.g. fewer samples than dimensions) both covariances get
    ``eps`` added to their diagonal; the tiny imaginary part rounding leaves is dropped.
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"means and covariances must be (d,) and (d, d) and match, got {mu1.shape}, "
                         f"{sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are expected; the result is checked below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(mu1)) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"the matrix square root has a large imaginary part "
                             f"({np.abs(covmean.imag).max():.3g}); are the covariances symmetric PSD?")
        covmean = covmean.real
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    return max(float(distance), 0.0)  # rounding can leave -1e-12 for identical sets


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of features (n, d), in float64."""
    f = torch.as_tensor(features).detach().cpu().double().flatten(1).numpy()
    if len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {len(f)}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def fid_from_features(f_real, f_fake) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (n, d) and (m, d)."""
    return frechet_distance(*gaussian_stats(f_real), *gaussian_stats(f_fake))


# -- the classifier whose features score Fashion-MNIST and digits -------------------------

class Classifier(nn.Module):
    """A small CNN: images (B, channels, image_size, image_size) in [-1, 1] -> logits (B, n_classes).

    Each stage is conv3x3 -> BatchNorm -> ReLU -> 2x2 max-pool, doubling the channels, down to a
    4x4 map; global average pooling and a hidden layer give ``features(x)`` (B, feature_dim),
    the penultimate layer that FID and precision/recall compare.
    """

    def __init__(self, image_size: int = 32, channels: int = 1, n_classes: int = 10, width: int = 16,
                 feature_dim: int = 128):
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 8, got {image_size!r}")
        self.config = {"class": "Classifier", "kwargs": dict(image_size=image_size, channels=channels,
                                                              n_classes=n_classes, width=width,
                                                              feature_dim=feature_dim)}
        self.image_size, self.channels, self.n_classes = image_size, channels, n_classes
        layers, c_in, c = [], channels, width
        for _ in range(int(math.log2(image_size)) - 2):  # (B, c_in, s, s) -> (B, c, s/2, s/2)
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in, c = c, c * 2
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, c_in)
        self.hidden = nn.Sequential(nn.Linear(c_in, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(feature_dim, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.body(x))  # (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, n_classes) logits


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device, batch_size: int = 1000) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def train_classifier(dataset: str = "fashion-mnist", image_size: int | None = None, epochs: int = 2,
                     batch_size: int = 128, lr: float = 2e-3, seed: int = 0, device="auto",
                     data_dir=None, limit: int | None = None, width: int = 16,
                     progress: bool = True) -> tuple[Classifier, dict]:
    """Train a ``Classifier`` on a labelled dataset's train split; returns it (eval mode) and a
    record ``{"test_accuracy", "epochs", "steps", "wall_time_s", ...}`` measured on the test split.

    Adam with the learning rate decayed linearly to zero; no augmentation.
    """
    from tqdm.auto import tqdm

    from .train import resolve_device

    device = resolve_device(device)
    train_set = load_dataset(dataset, image_size, "train", data_dir=data_dir, limit=limit)
    test_set = load_dataset(dataset, image_size, "test", data_dir=data_dir)
    if train_set.y is None or not torch.is_tensor(train_set.x) or train_set.x.dim() != 4:
        raise ValueError(f"{dataset!r} has no labelled images to train a classifier on")
    c, size = train_set.x.shape[1], train_set.x.shape[-1]
    torch.manual_seed(seed)
    n_classes = len(train_set.class_names or range(int(train_set.y.max()) + 1))
    model = Classifier(size, c, n_classes, width).to(device)
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
    record = {"dataset": train_set.name, "data_source": train_set.source, "image_size": size, "channels": c,
              "epochs": epochs, "steps": total, "batch_size": batch_size, "lr": lr, "seed": seed,
              "n_train": len(train_set), "n_test": len(test_set),
              "test_accuracy": round(_accuracy(model, test_set.x, test_set.y, device), 4),
              "wall_time_s": round(time.perf_counter() - t0, 1), "class_names": list(train_set.class_names or [])}
    return model.cpu().eval(), record


def load_classifier(path, map_location="cpu") -> tuple[Classifier, dict]:
    """The classifier and its meta record from a file written by ``train-classifier``."""
    from .checkpoint import CheckpointError, load_checkpoint

    state = load_checkpoint(path, map_location)
    entry = state.get("classifier")
    if not isinstance(entry, dict) or entry.get("config", {}).get("class") != "Classifier":
        raise CheckpointError(f"{path} holds no classifier")
    model = Classifier(**entry["config"]["kwargs"])
    model.load_state_dict(entry["state_dict"])
    return model.eval(), state.get("meta", {})


# -- feature extractors -------------------------------------------------------------------

class WeightsUnavailableError(FileNotFoundError):
    """Pretrained weights a feature extractor needs cannot be had (offline, no cache)."""


class FeatureExtractor:
    """A callable: images (n, C, H, W) in [-1, 1] -> features (n, d) float32 on the CPU.

    ``prepare`` brings any image batch to what ``network`` expects (channels, size, scaling);
    ``classifier`` (optional) maps the features to class logits, for the class histogram.
    Batches of ``batch_size`` go through the network without gradients.
    """

    def __init__(self, name: str, network, prepare, classifier=None, class_names=None, device="cpu",
                 batch_size: int = 500):
        self.name, self.network, self.prepare, self.classifier = name, network, prepare, classifier
        self.class_names, self.device, self.batch_size = class_names, torch.device(device), batch_size

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.name!r})"

    @torch.no_grad()
    def _map(self, fn, images) -> torch.Tensor:
        images = torch.as_tensor(images)
        out = [fn(self.prepare(images[i:i + self.batch_size].to(self.device).float())).float().cpu()
               for i in range(0, len(images), self.batch_size)]
        return torch.cat(out)

    def __call__(self, images) -> torch.Tensor:
        return self._map(self.network, images).flatten(1)

    def classify(self, features) -> torch.Tensor:
        """Predicted class (n,) int64 from features this extractor made; only for classifier extractors."""
        if self.classifier is None:
            raise ValueError(f"the {self.name} extractor has no classifier; use a classifier-* extractor")
        with torch.no_grad():
            return self.classifier(torch.as_tensor(features).to(self.device).float()).argmax(1).cpu()

    def predict(self, images) -> torch.Tensor:
        """Predicted class (n,) int64 of each image; only for classifier extractors."""
        return self.classify(self(images))


def _to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if channels == 1:  # RGB -> luma (ITU-R 601, as PIL's "L")
        return (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return x.expand(-1, channels, -1, -1)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def _classifier_extractor(name: str, device) -> FeatureExtractor:
    from .pretrained import pretrained

    model, meta = load_classifier(pretrained(CLASSIFIERS[name][2]))
    model.to(device)
    size, c = model.image_size, model.channels
    return FeatureExtractor(name, model.features, lambda x: _resize(_to_channels(x, c), size),
                            classifier=model.head, class_names=meta.get("class_names"), device=device)


def _inception_extractor(device) -> FeatureExtractor:
    """torchvision's ImageNet Inception-v3 pool features (2048-d); fails fast offline."""
    import os

    from torchvision.models import Inception_V3_Weights, inception_v3

    weights = Inception_V3_Weights.DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    message = ("pretrained Inception weights are unavailable offline ({}); use a classifier extractor "
               "instead (classifier-fashion32 or classifier-digits16, what --extractor auto picks for those "
               f"datasets) or `pixels`, or run once with a network to cache {weights.url} in {cached.parent}")
    if not cached.is_file() and not _network_available(*INCEPTION_HOST):
        raise WeightsUnavailableError(message.format(f"no cached copy and {INCEPTION_HOST[0]} does not answer"))
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


def feature_extractor(name_or_dataset: str = "classifier-fashion32", device="cpu") -> FeatureExtractor:
    """A ``FeatureExtractor`` by name (``classifier-fashion32``, ``classifier-digits16``,
    ``inception-v3``, ``pixels``, ``points``) or by dataset (``fashion-mnist`` -> its classifier).
    Its ``.name`` says which it is; report it with every score."""
    from .train import resolve_device

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
    raise ValueError(f"unknown feature extractor {name_or_dataset!r}; choose one of: "
                     f"{', '.join(CLASSIFIERS)}, inception-v3, pixels, points, or a dataset name")


# -- k-nearest-neighbour metrics ----------------------------------------------------------

def _as_features(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().cpu().double().flatten(1)


def _chunked_distances(a: torch.Tensor, b: torch.Tensor, chunk: int = 1024):
    """Yield (start, distances (chunk, len(b))) over row blocks of a: bounded memory."""
    for i in range(0, len(a), chunk):
        yield i, torch.cdist(a[i:i + chunk], b)


def nearest_neighbours(queries, reference, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances and indices (n, k) of the k nearest rows of ``reference`` to each query row
    (features (n, d), or images, flattened)."""
    q, r = _as_features(queries), _as_features(reference)
    if k > len(r):
        raise ValueError(f"k={k} neighbours asked for but reference has {len(r)} rows")
    dist, idx = zip(*(d.topk(k, dim=1, largest=False) for _, d in _chunked_distances(q, r)))
    return torch.cat(dist).float(), torch.cat(idx)


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (n,)."""
    if k >= len(x):
        raise ValueError(f"k={k} needs more than {k} samples, got {len(x)}")
    return torch.cat([d.topk(k + 1, dim=1, largest=False).values[:, k] for _, d in _chunked_distances(x, x)])


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """How many balls B(centres_i, radii_i) contain each point (n,)."""
    return torch.cat([(d <= radii[None]).sum(1) for _, d in _chunked_distances(points, centres)])


def precision_recall(real, fake, k: int = 3) -> dict:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of features (n, d) and (m, d).

    Each set's manifold is the union of balls around its points reaching their k-th nearest
    neighbour. Precision: fraction of fake samples inside the real manifold (are samples
    realistic?). Recall: fraction of real samples inside the fake manifold (is the data covered?).
    """
    real, fake = _as_features(real), _as_features(fake)
    precision = (_inside_any_ball(fake, real, _knn_radii(real, k)) > 0).double().mean()
    recall = (_inside_any_ball(real, fake, _knn_radii(fake, k)) > 0).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


def ball_membership(real, fake, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The real manifold of :func:`precision_recall`, sample by sample: the radius of every
    real point's ball (the distance to its k-th nearest real neighbour, (n,)) and which balls
    hold each fake sample ((m, n) bool). ``inside.any(1)`` marks the samples that precision
    counts as realistic. Builds the whole (m, n) matrix: meant for inspecting a few thousand
    samples, e.g. which real images take in most of a collapsed generator's output."""
    real, fake = _as_features(real), _as_features(fake)
    radii = _knn_radii(real, k)
    return radii, torch.cat([d <= radii[None] for _, d in _chunked_distances(fake, real)])


def density_coverage(real, fake, k: int = 5) -> dict:
    """Density and coverage (Naeem et al. 2020) of features (n, d) real and (m, d) fake.

    Density: how many real-sample balls (radius: the k-th neighbour distance) hold each fake
    sample, divided by k and averaged; about 1 when fake matches real, above 1 when samples
    crowd where real data is dense. Coverage: fraction of real balls holding at least one fake
    sample; robust to outliers in a way recall is not.
    """
    real, fake = _as_features(real), _as_features(fake)
    radii = _knn_radii(real, k)
    counts = _inside_any_ball(fake, real, radii)                       # (m,): real balls per fake
    nearest_fake = torch.cat([d.min(1).values for _, d in _chunked_distances(real, fake)])  # (n,)
    return {"density": float(counts.double().mean() / k), "coverage": float((nearest_fake <= radii).double().mean())}


def class_histogram(labels, n_classes: int = 10, min_fraction: float = 0.01) -> dict:
    """Histogram of (predicted) class labels of generated samples.

    Returns ``counts`` (n_classes,), ``fractions``, ``modes_hit`` (classes receiving at least
    ``min_fraction`` of the samples) and ``kl_uniform`` = KL(histogram || uniform) = log K - H,
    which is 0 for a perfectly balanced generator and log K for one that makes a single class.
    """
    labels = torch.as_tensor(labels).flatten().long().cpu()
    if len(labels) == 0:
        raise ValueError("no labels")
    counts = torch.bincount(labels, minlength=n_classes)[:n_classes]
    p = counts.double() / counts.sum()
    kl = float((p[p > 0] * (p[p > 0] * n_classes).log()).sum())
    return {"counts": counts, "fractions": p.float(), "modes_hit": int((p >= min_fraction).sum()),
            "kl_uniform": kl}


def nearest_training_images(fake, train, extractor=None, n: int = 8) -> dict:
    """The memorisation check: for the first ``n`` fake images, the nearest training image.

    Distances are measured in ``extractor``'s feature space, or in pixel space when None.
    Returns ``distances`` (n,), ``indices`` (n,) into ``train`` and ``pairs`` (2n, C, H, W): the
    fake images in the first row and their neighbours below (``show_images(pairs, nrow=n)``).
    """
    fake, train = torch.as_tensor(fake)[:n], torch.as_tensor(train)
    q, r = (extractor(fake), extractor(train)) if extractor is not None else (fake, train)
    dist, idx = nearest_neighbours(q, r, k=1)
    return {"distances": dist[:, 0], "indices": idx[:, 0], "pairs": torch.cat([fake, train[idx[:, 0]]])}


# -- scoring a generator --------------------------------------------------------------------

@torch.no_grad()
def sample_generator(generator: nn.Module, n: int, seed: int = 0, batch_size: int = 500, device=None) -> torch.Tensor:
    """``n`` samples of a generator from seeded noise, on the CPU (float32)."""
    generator.eval()
    device = device or next(generator.parameters()).device
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.latent_dim, generator=g)
    return torch.cat([generator(z[i:i + batch_size].to(device)).float().cpu() for i in range(0, n, batch_size)])


def evaluate_features(f_fake, f_real, extractor: FeatureExtractor, f_train=None, k_pr: int = 3,
                      k_dc: int = 5) -> dict:
    """Every metric of fake features (m, d) against real ones (n, d), both made by ``extractor``.

    ``f_train`` (optional): features of training images for the memorisation check, reported as
    the median distance from fake samples and from real (held-out) samples to their nearest
    training image; a generator that copies its training set has the first far below the second.
    Compute the real and training features once and score many generators against them.
    """
    f_fake, f_real = torch.as_tensor(f_fake), torch.as_tensor(f_real)
    results = {"extractor": extractor.name, "n_real": len(f_real), "n_fake": len(f_fake),
               "fid": fid_from_features(f_real, f_fake), **precision_recall(f_real, f_fake, k_pr),
               **density_coverage(f_real, f_fake, k_dc), "k_pr": k_pr, "k_dc": k_dc}
    if extractor.classifier is not None:
        hist = class_histogram(extractor.classify(f_fake), len(extractor.class_names or range(10)))
        results.update(modes_hit=hist["modes_hit"], n_classes=len(hist["counts"]), kl_uniform=hist["kl_uniform"],
                       class_fractions=hist["fractions"].tolist())
    if f_train is not None:
        results.update(n_train=len(f_train),
                       nn_train_fake=float(nearest_neighbours(f_fake, f_train)[0].median()),
                       nn_train_real=float(nearest_neighbours(f_real, f_train)[0].median()))
    return results


def evaluate_samples(fake, real, extractor: FeatureExtractor, train=None, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Every metric of ``fake`` against ``real`` (images or points) in ``extractor``'s features;
    ``train``: training images for the memorisation check (see ``evaluate_features``)."""
    return evaluate_features(extractor(fake), extractor(real), extractor,
                             None if train is None else extractor(train), k_pr, k_dc)


def _generator_output(generator) -> tuple:
    """(channels, size) of an image generator, or (2,) for a generator of 2-D points."""
    if hasattr(generator, "image_size"):
        return generator.channels, generator.image_size
    shape = tuple(getattr(generator, "output_shape", ()))
    return (shape[0], shape[-1]) if len(shape) == 3 else shape


def evaluate(generator: nn.Module, dataset_name: str, n: int = 2000, extractor="auto", seed: int = 0,
             n_train: int = 10_000, device="cpu", data_dir=None) -> dict:
    """Score a generator against the held-out test split of ``dataset_name``.

    ``n`` fake samples against up to ``n`` test images (all of them when the split is smaller);
    ``extractor``: a ``FeatureExtractor``, a name, or ``"auto"`` (the dataset's classifier,
    else Inception-v3). Toy datasets (ring, grid) also get ``toy_mode_coverage``. Returns a
    dict of every score with the extractor's name and sample sizes; ``format_results`` prints it.
    """
    from .train import resolve_device

    device = resolve_device(device)
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    out = _generator_output(generator)
    toy = dataset_name in ("ring", "grid")
    if toy != (out == (2,)):
        raise ValueError(f"a generator of shape {out} cannot be scored on {dataset_name!r}")
    if not isinstance(extractor, FeatureExtractor):
        extractor = feature_extractor(default_extractor(dataset_name) if extractor == "auto" else extractor, device)
    generator = generator.to(device)
    fake = sample_generator(generator, n, seed, device=device)
    if toy:
        real = load_dataset(dataset_name, split="test", limit=n, seed=seed).x
        results = evaluate_samples(fake, real, extractor)
        centres, std = toy_mixture(dataset_name)
        cover = toy_mode_coverage(fake, centres, std)
        results.update(modes_hit=cover["modes_hit"], n_classes=len(centres), high_quality=cover["high_quality"])
    else:
        channels, size = out
        real = load_dataset(dataset_name, size, "test", data_dir=data_dir, channels=channels, limit=n).x
        train = load_dataset(dataset_name, size, "train", data_dir=data_dir, channels=channels, limit=n_train).x \
            if n_train else None
        results = evaluate_samples(fake, real, extractor, train)
    results["dataset"] = dataset_name
    return results


def format_results(results: dict) -> str:
    """One line per score, each naming the extractor and sample sizes it was measured with."""
    tag = f"{results['extractor']}, n_real={results['n_real']}, n_fake={results['n_fake']}"
    lines = [f"FID ({tag}) = {results['fid']:.3f}",
             f"precision (k={results['k_pr']}, {tag}) = {results['precision']:.3f}",
             f"recall (k={results['k_pr']}, {tag}) = {results['recall']:.3f}",
             f"density (k={results['k_dc']}, {tag}) = {results['density']:.3f}",
             f"coverage (k={results['k_dc']}, {tag}) = {results['coverage']:.3f}"]
    if "kl_uniform" in results:
        lines += [f"classes hit (>= 1% of samples; {results['extractor']}, n_fake={results['n_fake']}) = "
                  f"{results['modes_hit']} of {results['n_classes']}",
                  f"KL(class histogram || uniform) ({results['extractor']}, n_fake={results['n_fake']}) = "
                  f"{results['kl_uniform']:.3f} (log {results['n_classes']} = {math.log(results['n_classes']):.3f} "
                  "for one class)"]
    if "high_quality" in results:
        lines += [f"modes hit (within 3 std; n_fake={results['n_fake']}) = {results['modes_hit']} of "
                  f"{results['n_classes']}",
                  f"high-quality samples (within 3 std; n_fake={results['n_fake']}) = {results['high_quality']:.3f}"]
    if "nn_train_fake" in results:
        t = f"{results['extractor']}, n_train={results['n_train']}"
        lines.append(f"median distance to nearest training image ({t}): fake {results['nn_train_fake']:.3f}, "
                     f"held-out real {results['nn_train_real']:.3f}")
    return "\n".join(lines)


def results_table(rows: dict, digits: int = 3) -> str:
    """A Markdown table of ``{label: results}`` (from ``evaluate``/``evaluate_samples``), one row each,
    with the extractor and sample sizes in every row (scores are comparable only when they match)."""
    columns = [("fid", "FID"), ("precision", "precision"), ("recall", "recall"), ("density", "density"),
               ("coverage", "coverage"), ("modes_hit", "classes hit"), ("kl_uniform", "KL to uniform"),
               ("nn_train_fake", "NN distance to train")]
    columns = [(k, title) for k, title in columns if any(k in r for r in rows.values())]
    lines = ["| | " + " | ".join(t for _, t in columns) + " | features, n_real, n_fake |",
             "| --- |" + " ---: |" * len(columns) + " --- |"]
    for label, r in rows.items():
        cells = [("-" if k not in r else f"{r[k]}" if isinstance(r[k], int) else f"{r[k]:.{digits}f}")
                 for k, _ in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {r['extractor']}, {r['n_real']}, {r['n_fake']} |")
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------------

def add_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score checkpoints' generators against the held-out test split",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, nargs="+",
                   help="checkpoint file(s) holding a generator; files without one are skipped with a note")
    p.add_argument("--n", type=int, default=2000, help="generated samples (and at most as many test images)")
    p.add_argument("--extractor", default="auto",
                   help="feature extractor: auto (the dataset's classifier), classifier-fashion32, "
                        "classifier-digits16, inception-v3, pixels")
    p.add_argument("--dataset", default=None, help="dataset to compare with (default: the checkpoint's own)")
    p.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset files")
    p.add_argument("--n_train", "--n-train", type=int, default=10_000,
                   help="training images searched by the memorisation check (0: skip it)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the generator's noise")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu, ...")
    p.add_argument("--json", default=None, help="also write every score to this JSON file")


def cmd_evaluate(args) -> None:
    from .checkpoint import load_checkpoint, load_generator

    if args.n < 2:
        raise ValueError(f"--n must be at least 2, got {args.n}")
    device = args.device
    extractors, report, skipped = {}, {}, []
    for path in args.checkpoint:
        state = load_checkpoint(path)
        if "generator" not in state:
            what = ", ".join(k for k in ("classifier", "discriminator") if k in state) or "no model"
            skipped.append(f"{path} holds no generator ({what})")
            if len(args.checkpoint) > 1:
                print(f"{skipped[-1]}; skipped")
            continue
        dataset = args.dataset or state.get("meta", {}).get("dataset")
        if not dataset or dataset == "random":
            raise ValueError(f"{path} records no dataset it was trained on ({dataset!r}); pass --dataset")
        name = default_extractor(dataset) if args.extractor == "auto" else args.extractor
        if name not in extractors:
            extractors[name] = feature_extractor(name, device)
        results = evaluate(load_generator(path), dataset, n=args.n, extractor=extractors[name], seed=args.seed,
                           n_train=args.n_train, device=device, data_dir=args.data_dir)
        step = state.get("step")
        print(f"== {path} ({dataset} test split{f', step {step}' if step is not None else ''})")
        print(format_results(results))
        report[str(path)] = results
    if not report:
        raise ValueError("; ".join(skipped) + ": nothing to evaluate")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


def add_train_classifier_parser(sub) -> None:
    p = sub.add_parser("train-classifier", help="train the small CNN whose features score a dataset",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist", help="labelled image dataset (fashion-mnist, digits, mnist)")
    p.add_argument("--image_size", "--image-size", type=int, default=None,
                   help="image side in pixels, a power of two (default: the dataset's own)")
    p.add_argument("--data_dir", "--data-dir", default=None, help="folder holding the dataset files")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training examples")
    p.add_argument("--epochs", type=int, default=2, help="passes over the training split")
    p.add_argument("--batch_size", "--batch-size", type=int, default=128, help="batch size")
    p.add_argument("--width", type=int, default=16, help="channels of the first stage (doubled at each stage)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (decayed linearly to 0)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, cpu, ...")
    p.add_argument("--out", required=True, help="checkpoint file to write, e.g. checkpoints/classifier_fashion32.pt")
    p.add_argument("--manifest", action="store_true",
                   help="record the file (command, seed, data, hardware, accuracy, sha256) in manifest.json beside it")
    p.add_argument("--no_progress", "--no-progress", action="store_true", help="hide the progress bar")


def cmd_train_classifier(args) -> None:
    from .train import hardware
    from .checkpoint import save_checkpoint
    from .pretrained import sha256
    from .train import resolve_device

    device = resolve_device(args.device)
    model, record = train_classifier(args.dataset, args.image_size, args.epochs, args.batch_size, args.lr,
                                     args.seed, device, args.data_dir, args.limit, args.width,
                                     progress=not args.no_progress)
    command = "python -m dcgan_lib " + shlex.join(sys.argv[1:])
    meta = {**record, "command": command, "hardware": hardware(device), "torch": str(torch.__version__)}
    out = save_checkpoint(args.out, {"classifier": {"config": model.config, "state_dict": model.state_dict()},
                                     "meta": meta})
    print(f"test accuracy {record['test_accuracy']:.4f} after {record['epochs']} epochs "
          f"({record['wall_time_s']:.0f} s on {meta['hardware']}); wrote {out}")
    if args.manifest:
        manifest_path = out.parent / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        manifest.setdefault("checkpoints", {})[out.name] = {
            "commands": [command], "seed": args.seed,
            "data": f"{record['dataset']} ({record['data_source']})",
            "epochs": record["epochs"], "steps": record["steps"], "batch_size": args.batch_size,
            "hardware": meta["hardware"], "torch": meta["torch"], "wall_time_s": record["wall_time_s"],
            "test_accuracy": record["test_accuracy"], "size_bytes": out.stat().st_size, "sha256": sha256(out)}
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"recorded {out.name} in {manifest_path}")
