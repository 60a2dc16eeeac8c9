"""The latent space of a generator (Part IV): interpolation, walks and vector arithmetic.

Every function takes any generator with a ``latent_dim`` (any image size, 1 or 3 channels)
and, where classes are needed, a classifier :class:`~dcgan_lib.features.FeatureExtractor`
(``feature_extractor("classifier-fashion32")``), which brings images to its own size and
channels. Samples go through :func:`~dcgan_lib.models.sample_generator` (eval mode, no
gradients), so BatchNorm uses its running statistics throughout.

* :func:`lerp`, :func:`slerp`: linear and spherical interpolation (White 2016);
  :func:`latent_path` strings them through several key points.
* :func:`walk_report`: how smooth a walk is (consecutive-frame distances in pixels and in
  features, class changes) and whether it copies (nearest training images).
* :func:`class_latents`, :func:`concept_arithmetic`: class-conditional latents and the
  paper's arithmetic on means of three exemplars, scored by the classifier.
* :func:`midpoint_report`: what the generator makes at linear and spherical midpoints.

The feature maps of a hidden layer, and the paper's "forgetting" experiment, are in
``latent_maps``; the pictures and the explorer in ``latent_view``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .evaluation import nearest_training_images
from .features import FeatureExtractor
from .models import draw_latent, sample_generator

__all__ = [
    "lerp",
    "slerp",
    "latent_path",
    "walk_report",
    "class_latents",
    "class_mean_latents",
    "concept_arithmetic",
    "midpoint_report",
]


# -- interpolation ------------------------------------------------------------------------


def _pair(z0, z1) -> tuple[torch.Tensor, torch.Tensor]:
    z0, z1 = torch.as_tensor(z0), torch.as_tensor(z1)
    if z0.shape != z1.shape or z0.dim() not in (1, 2):
        raise ValueError(
            f"z0 and z1 must have the same shape, (latent_dim,) or (n, latent_dim); got "
            f"{tuple(z0.shape)} and {tuple(z1.shape)}"
        )
    dtype = z0.dtype if z0.is_floating_point() else torch.get_default_dtype()
    return z0.to(dtype), z1.to(dtype)


def _times(t, z: torch.Tensor) -> torch.Tensor:
    """t: a number -> 0-d; a 1-D sequence (T,) -> (T, 1, ...) to broadcast against z."""
    t = torch.as_tensor(t, dtype=z.dtype)
    if t.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D sequence of numbers, got shape {t.shape}")
    return t.reshape(t.shape + (1,) * z.dim())


def lerp(z0, z1, t) -> torch.Tensor:
    """Linear interpolation ``(1 - t) z0 + t z1``: shape of z0 for a number t, (T, ...) for T
    values of t."""
    z0, z1 = _pair(z0, z1)
    t = _times(t, z0)
    return (1 - t) * z0 + t * z1


def slerp(z0, z1, t) -> torch.Tensor:
    """Spherical interpolation (White 2016, "Sampling generative networks"): along the great
    circle through z0 and z1, at angle omega between them,

        slerp(z0, z1; t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1.

    t=0 gives z0 and t=1 gives z1; endpoints of equal norm keep that norm at every t (a
    Gaussian z's norm is close to sqrt(latent_dim), and so stays there). Nearly parallel
    endpoints fall back to linear interpolation; opposite ones (no unique circle) are refused.
    Shapes as :func:`lerp`: z0, z1 (d,) or (n, d); t a number or (T,)."""
    z0, z1 = _pair(z0, z1)
    cos = (z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1)).clamp_min(1e-12)
    omega = torch.acos(cos.clamp(-1, 1)).unsqueeze(-1)  # (..., 1)
    if bool((omega > math.pi - 1e-4).any()):
        raise ValueError(
            "z0 and z1 point in opposite directions: no unique great circle joins them; "
            "interpolate through a third point"
        )
    t = _times(t, z0)
    sin = torch.sin(omega)
    parallel = sin < 1e-6
    safe = torch.where(parallel, torch.ones_like(sin), sin)
    out = torch.sin((1 - t) * omega) / safe * z0 + torch.sin(t * omega) / safe * z1
    return torch.where(parallel, (1 - t) * z0 + t * z1, out)


METHODS = {"linear": lerp, "spherical": slerp}


def latent_path(points, steps: int = 8, method: str = "spherical") -> torch.Tensor:
    """A walk through the key points (K, d): ``steps`` moves from each to the next, so
    (1 + (K - 1) * steps, d) latents, each key point included once."""
    points = torch.as_tensor(points)
    if points.dim() != 2 or len(points) < 2:
        raise ValueError(f"points must be (K >= 2, latent_dim), got shape {tuple(points.shape)}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    t = torch.arange(steps, dtype=points.dtype) / steps
    legs = [METHODS[method](a, b, t) for a, b in zip(points[:-1], points[1:])]
    return torch.cat([*legs, points[-1:]])


# -- walks ---------------------------------------------------------------------------------


def _classifier(extractor) -> FeatureExtractor:
    if not isinstance(extractor, FeatureExtractor) or extractor.classifier is None:
        raise ValueError(
            "extractor must be a classifier FeatureExtractor, e.g. "
            "feature_extractor('classifier-fashion32'), got "
            f"{getattr(extractor, 'name', type(extractor).__name__)!r}"
        )
    return extractor


def _rms(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Root-mean-square difference per image: (n, C, H, W) twice -> (n,)."""
    return (a - b).flatten(1).pow(2).mean(1).sqrt()


def walk_report(generator: nn.Module, z_path, extractor, train=None, train_features=None) -> dict:
    """Frames of a walk ``z_path`` (N, d) and how they change: ``pixel_steps`` (N - 1,) the
    RMS pixel change between consecutive frames, ``feature_steps`` (N - 1,) the distance
    between their classifier features, ``classes`` (N,) the predicted class of each frame,
    ``class_changes`` how often it changes; ``nearest`` (N,) the index of each frame's
    nearest training image (classifier features), ``nearest_distances`` (N,) and
    ``nearest_changes``. Give the training images ``train``, or their features
    ``train_features`` (``extractor(train)``, to search a large set for many walks)."""
    extractor = _classifier(extractor)
    if (train is None) == (train_features is None):
        raise ValueError("give the training images (train=) or their features (train_features=)")
    frames = sample_generator(generator, z=torch.as_tensor(z_path))
    features = extractor(frames)
    classes = extractor.classify(features)
    if train_features is None:
        near = nearest_training_images(frames, train, extractor, n=len(frames))
    else:  # the same search, on features already made
        near = nearest_training_images(features, train_features, None, n=len(frames))
    return {
        "frames": frames,
        "pixel_steps": _rms(frames[1:], frames[:-1]),
        "feature_steps": (features[1:] - features[:-1]).norm(dim=1),
        "classes": classes,
        "class_changes": int((classes[1:] != classes[:-1]).sum()),
        "nearest": near["indices"],
        "nearest_distances": near["distances"],
        "nearest_changes": int((near["indices"][1:] != near["indices"][:-1]).sum()),
    }


def midpoint_report(generator: nn.Module, extractor, z0, z1) -> dict:
    """What the generator makes halfway between pairs of latents z0, z1 (n, d): for the
    endpoints z0, the linear midpoint and the spherical one, the mean latent ``norm``, the
    mean ``contrast`` of the images (standard deviation of each image's pixels) and the mean
    ``confidence`` of the classifier (its largest class probability)."""
    extractor = _classifier(extractor)
    out = {}
    for name, z in (
        ("endpoint", _pair(z0, z1)[0]),
        ("linear", lerp(z0, z1, 0.5)),
        ("spherical", slerp(z0, z1, 0.5)),
    ):
        images = sample_generator(generator, z=z)
        with torch.no_grad():
            logits = extractor.classifier(extractor(images).to(extractor.device))
        out[name] = {
            "norm": z.norm(dim=-1).mean().item(),
            "contrast": images.flatten(1).std(1).mean().item(),
            "confidence": logits.softmax(1).max(1).values.mean().item(),
        }
    return out


# -- classes in z, and arithmetic on them ----------------------------------------------------


def class_latents(generator: nn.Module, extractor, n: int = 2000, seed: int = 0):
    """``n`` latents of ``generator`` drawn with ``seed`` and the class the classifier
    gives each one's image: (z (n, d), labels (n,))."""
    extractor = _classifier(extractor)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of latents, got {n!r}")
    z = draw_latent(generator, n, rng=torch.Generator().manual_seed(seed))
    return z, extractor.predict(sample_generator(generator, z=z))


def class_mean_latents(z, labels, n_classes: int) -> torch.Tensor:
    """(n_classes, d): each class's mean latent direction, scaled to the mean norm of ``z``
    (a mean of many Gaussian vectors is far shorter than one of them); NaN rows for classes
    without latents."""
    z, labels = torch.as_tensor(z), torch.as_tensor(labels)
    norm = z.norm(dim=1).mean()
    out = torch.full((n_classes, z.shape[1]), float("nan"), dtype=z.dtype)
    for c in range(n_classes):
        if (labels == c).any():
            m = z[labels == c].mean(0)
            out[c] = m / m.norm() * norm
    return out


def concept_arithmetic(
    generator: nn.Module,
    extractor,
    z,
    labels,
    trials: int = 300,
    exemplars: int = 3,
    seed: int = 0,
) -> dict:
    """The paper's vector arithmetic on means of ``exemplars`` latents, with classes as
    concepts: for random classes T != S, y = mean(z of T) - mean(z of S) + mean(other z of S),
    which predicts class T. Two baselines with the same shape of sum: the T term replaced by
    ``exemplars`` latents of any class (an unrelated direction), and mean(other z of S)
    alone. Returns the rates at which the classifier calls each result T (``hit``,
    ``random_hit``), calls mean(other z of S) still S (``source_kept``), calls mean(z of T)
    alone T (``mean_hit``), the trials' classes and predictions, and each sum's latents
    (``latents[key]``, (trials, d)) and mean norm (``{key}_norm``)."""
    extractor = _classifier(extractor)
    z, labels = torch.as_tensor(z), torch.as_tensor(labels)
    counts = torch.bincount(labels, minlength=len(extractor.class_names or []) or None)
    usable = [c for c in range(len(counts)) if counts[c] >= 2 * exemplars]
    if len(usable) < 2:
        raise ValueError(
            f"need two classes with at least {2 * exemplars} latents each, found "
            f"{len(usable)}: draw more latents (class_latents(..., n=...))"
        )
    g = torch.Generator().manual_seed(seed)
    rows = {k: [] for k in ("target", "source", "arith", "random", "source_only", "target_only")}

    def pick(pool: torch.Tensor, k: int) -> torch.Tensor:
        return pool[torch.randperm(len(pool), generator=g)[:k]]

    for _ in range(trials):
        t, s = (usable[int(i)] for i in torch.randperm(len(usable), generator=g)[:2])
        of_s = pick(torch.nonzero(labels == s)[:, 0], 2 * exemplars)
        mean_t = z[pick(torch.nonzero(labels == t)[:, 0], exemplars)].mean(0)
        mean_s, mean_s2 = z[of_s[:exemplars]].mean(0), z[of_s[exemplars:]].mean(0)
        mean_r = z[pick(torch.arange(len(z)), exemplars)].mean(0)
        rows["target"].append(t)
        rows["source"].append(s)
        for key, y in (
            ("arith", mean_t - mean_s + mean_s2),
            ("random", mean_r - mean_s + mean_s2),
            ("source_only", mean_s2),
            ("target_only", mean_t),
        ):
            rows[key].append(y)
    out = {k: torch.tensor(rows[k]) for k in ("target", "source")}
    out["latents"] = {}
    for key in ("arith", "random", "source_only", "target_only"):
        y = out["latents"][key] = torch.stack(rows[key])
        out[f"{key}_norm"] = y.norm(dim=1).mean().item()
        out[key] = extractor.predict(sample_generator(generator, z=y))
    out["hit"] = (out["arith"] == out["target"]).double().mean().item()
    out["random_hit"] = (out["random"] == out["target"]).double().mean().item()
    out["source_kept"] = (out["source_only"] == out["source"]).double().mean().item()
    out["mean_hit"] = (out["target_only"] == out["target"]).double().mean().item()
    return out
