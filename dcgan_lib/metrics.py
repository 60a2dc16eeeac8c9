"""The mathematics of measuring a generator: Frechet distance, KID, precision/recall,
density/coverage, class histograms, mode coverage and nearest neighbours.

Every metric here compares a set of generated samples with a set of real ones, given as
features (n, d) -- of a network (``dcgan_lib.features``), or the points themselves for
2-D data. The losses of a GAN say little about the quality of its samples, so these are
how the book scores a generator (``dcgan_lib.evaluate`` puts them together).

Two numbers are never comparable unless they share a feature extractor and sample sizes:
FID is biased upwards at small n, and its scale depends on the features.

This module imports nothing of the package.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import linalg

__all__ = [
    "checkerboard_score",
    "toy_mode_coverage",
    "mode_hopping",
    "pixel_spread",
    "roughness",
    "frechet_distance",
    "gaussian_stats",
    "fid_from_features",
    "mmd2_unbiased",
    "kernel_inception_distance",
    "nearest_neighbours",
    "precision_recall",
    "ball_membership",
    "density_coverage",
    "class_histogram",
]


# -- 2-D toy mixtures ---------------------------------------------------------------------


def toy_mode_coverage(samples, centres, std: float, n_std: float = 3.0, min_count: int = 1) -> dict:
    """How many modes of a 2-D Gaussian mixture a set of samples covers.

    samples: (n, 2) points; centres: (K, 2) mixture means; std: the mixture's standard deviation.
    A sample is "high quality" when it lies within ``n_std * std`` of its nearest centre; a mode
    is hit when at least ``min_count`` high-quality samples belong to it.

    Returns ``{"modes_hit": int, "high_quality": float (fraction of samples),
    "counts": (K,) int64}``.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32).detach().cpu()
    centres = torch.as_tensor(centres, dtype=torch.float32).detach().cpu()
    if samples.dim() != 2 or samples.shape[1] != 2 or centres.dim() != 2 or centres.shape[1] != 2:
        raise ValueError(
            f"samples and centres must be (n, 2) and (K, 2), got {tuple(samples.shape)} "
            f"and {tuple(centres.shape)}"
        )
    if len(samples) == 0:
        raise ValueError("samples is empty")
    distance, nearest = torch.cdist(samples, centres).min(dim=1)  # (n,), (n,)
    close = distance <= n_std * std
    counts = torch.bincount(nearest[close], minlength=len(centres))  # (K,)
    return {
        "modes_hit": int((counts >= min_count).sum()),
        "high_quality": float(close.float().mean()),
        "counts": counts,
    }


def mode_hopping(counts) -> dict:
    """How the modes a generator covers change from one snapshot to the next.

    counts: (T, K) samples per mode at T >= 2 successive snapshots (the ``counts`` of
    ``toy_mode_coverage``). Returns ``{"modes_hit": mean number of modes hit per snapshot,
    "modes_visited": modes hit at any snapshot, "turnover": mean fraction of the modes hit
    at one snapshot that are not hit at the next}`` (a snapshot that hits nothing counts
    0). A generator that sits on a few modes has few modes visited and a low turnover; one
    that hops from mode to mode visits many, hits few at a time and turns over fast.
    """
    hit = torch.as_tensor(counts).detach().cpu() > 0  # (T, K)
    if hit.dim() != 2 or hit.shape[0] < 2:
        raise ValueError(
            f"counts must be (T, K) with T >= 2 snapshots, got shape {tuple(hit.shape)}"
        )
    lost = (hit[:-1] & ~hit[1:]).sum(1).float() / hit[:-1].sum(1).clamp(min=1)  # (T - 1,)
    return {
        "modes_hit": float(hit.sum(1).float().mean()),
        "modes_visited": int(hit.any(0).sum()),
        "turnover": float(lost.mean()),
    }


# -- diversity within one batch -----------------------------------------------------------


def pixel_spread(images) -> float:
    """How much a batch of images (n, ...) differ from each other: the standard deviation
    of each pixel across the batch, averaged over pixels. 0 when every image is the same
    (a collapsed generator); about 0.6 for Fashion-MNIST's test images in [-1, 1]."""
    x = torch.as_tensor(images).detach().float().flatten(1)
    if len(x) < 2:
        raise ValueError(f"pixel_spread needs at least 2 images, got {len(x)}")
    return float(x.std(dim=0).mean())


def roughness(images) -> float:
    """How speckled a batch of images (n, C, H, W) is: the mean absolute difference between
    horizontally and vertically neighbouring pixels, the two directions averaged. Small for
    images that are smooth between their edges, large for noisy ones."""
    x = torch.as_tensor(images).detach().float()
    if x.dim() != 4 or min(x.shape[-2:]) < 2:
        raise ValueError(f"roughness needs images of shape (n, C, H, W), got {tuple(x.shape)}")
    across = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    down = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    return float((across + down) / 2)


def checkerboard_score(images) -> float:
    """How strong the period-2 checkerboard of a batch of images (n, C, H, W) is, from their
    spectrum: the power at the three Nyquist frequencies (half a cycle per pixel across, down
    and diagonally: the checkerboard's own), over the mean power of their eight neighbours in
    the spectrum. Each image's mean is removed first; the power is averaged over images and
    channels. About 1 or below for natural images (power falls with frequency); far above 1
    where uneven overlap of strided transposed convolutions (Odena et al., 2016) stamps a
    checkerboard."""
    x = torch.as_tensor(images).detach().float()
    if x.dim() != 4 or x.shape[-1] % 2 or x.shape[-2] % 2 or min(x.shape[-2:]) < 4:
        raise ValueError(
            "checkerboard_score needs images (n, C, H, W) with even H and W of at least 4, "
            f"got {tuple(x.shape)}"
        )
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).mean(dim=(0, 1))  # (H, W)
    h, w = power.shape
    peaks, around = [], []
    for u, v in ((h // 2, 0), (0, w // 2), (h // 2, w // 2)):
        peaks.append(power[u, v])
        ring = [power[(u + du) % h, (v + dv) % w] for du in (-1, 0, 1) for dv in (-1, 0, 1)]
        around.append((sum(ring) - power[u, v]) / 8)
    return float(torch.stack(peaks).mean() / torch.stack(around).mean().clamp_min(1e-12))


# -- Frechet distance ---------------------------------------------------------------------


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2):

        ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})

    As in the reference FID code (Heusel et al. 2017): if the matrix square root is not finite
    (near-singular covariances, e.g. fewer samples than dimensions) both covariances get
    ``eps`` added to their diagonal; the tiny imaginary part rounding leaves is dropped.
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if (
        mu1.shape != mu2.shape
        or sigma1.shape != sigma2.shape
        or sigma1.shape != (len(mu1), len(mu1))
    ):
        raise ValueError(
            f"means and covariances must be (d,) and (d, d) and match, got {mu1.shape}, "
            f"{sigma1.shape}, {mu2.shape}, {sigma2.shape}"
        )
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are expected; the result is checked below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(mu1)) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"the matrix square root has a large imaginary part "
                f"({np.abs(covmean.imag).max():.3g}); are the covariances symmetric PSD?"
            )
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


# -- k-nearest-neighbour metrics ----------------------------------------------------------


# -- Kernel distance (KID) ----------------------------------------------------------------


def _polynomial_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (x . y / d + 1)^3, the kernel of KID (Binkowski et al. 2018)."""
    return (a @ b.T / a.shape[1] + 1) ** 3


def mmd2_unbiased(real, fake) -> float:
    """The unbiased estimate of the squared MMD between features (m, d) and (n, d) under
    the cubic polynomial kernel: the within-set means leave out the diagonal k(x_i, x_i),
    so its expectation is the population MMD^2 at any sample size (it can be negative)."""
    x, y = _as_features(real), _as_features(fake)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"the MMD estimate needs at least 2 samples of each, got {m} and {n}")
    kxx, kyy, kxy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * kxy.mean())


def kernel_inception_distance(
    real, fake, subset_size: int = 1000, n_subsets: int = 100, seed: int = 0, level: float = 0.95
) -> dict:
    """KID (Binkowski et al. 2018): the unbiased MMD^2 of :func:`mmd2_unbiased`, averaged
    over ``n_subsets`` random subsets of ``subset_size`` samples of each set (as the
    reference code does), with the standard deviation across subsets and a bootstrap
    interval for the mean (the subset estimates resampled 1,000 times; ``level`` 0.95).

    Unlike FID it is unbiased, so values measured with few samples are comparable with
    values measured with many; report the extractor and sizes all the same.
    """
    x, y = _as_features(real), _as_features(fake)
    size = min(subset_size, len(x), len(y))
    g = torch.Generator().manual_seed(seed)
    values = torch.tensor(
        [
            mmd2_unbiased(
                x[torch.randperm(len(x), generator=g)[:size]],
                y[torch.randperm(len(y), generator=g)[:size]],
            )
            for _ in range(n_subsets)
        ],
        dtype=torch.float64,
    )  # (n_subsets,)
    boot = values[torch.randint(len(values), (1000, len(values)), generator=g)].mean(1)
    low, high = torch.quantile(
        boot, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    ).tolist()
    std = float(values.std()) if len(values) > 1 else 0.0
    return {
        "kid": float(values.mean()),
        "kid_std": std,
        "kid_low": low,
        "kid_high": high,
        "subset_size": size,
        "n_subsets": n_subsets,
    }


def _as_features(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().cpu().double().flatten(1)


def _chunked_distances(a: torch.Tensor, b: torch.Tensor, chunk: int = 1024):
    """Yield (start, distances (chunk, len(b))) over row blocks of a: bounded memory."""
    for i in range(0, len(a), chunk):
        yield i, torch.cdist(a[i : i + chunk], b)


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
    return torch.cat(
        [d.topk(k + 1, dim=1, largest=False).values[:, k] for _, d in _chunked_distances(x, x)]
    )


def _inside_any_ball(
    points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor
) -> torch.Tensor:
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
    counts = _inside_any_ball(fake, real, radii)  # (m,): real balls per fake
    nearest_fake = torch.cat([d.min(1).values for _, d in _chunked_distances(real, fake)])  # (n,)
    return {
        "density": float(counts.double().mean() / k),
        "coverage": float((nearest_fake <= radii).double().mean()),
    }


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
    return {
        "counts": counts,
        "fractions": p.float(),
        "modes_hit": int((p >= min_fraction).sum()),
        "kl_uniform": kl,
    }
