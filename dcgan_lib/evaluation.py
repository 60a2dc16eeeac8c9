"""Scoring generators against held-out data, and the tables every chapter displays.

:func:`evaluate` samples a generator, extracts features of its samples and of the test
split (``dcgan_lib.features``) and computes every metric of ``dcgan_lib.metrics``;
:func:`format_results` prints one line per score and :func:`results_table` a table of
several generators, each naming the extractor and sample sizes it was measured with,
e.g. ``FID (classifier-fashion32, n_real=2000, n_fake=2000)``.
"""

from __future__ import annotations

import math
import statistics

import torch
from torch import nn

from .data import load_dataset
from .device import resolve_device
from .features import FeatureExtractor, default_extractor, feature_extractor
from .metrics import (
    class_histogram,
    density_coverage,
    fid_from_features,
    nearest_neighbours,
    precision_recall,
    toy_mode_coverage,
)
from .models import sample_generator
from .toys import toy_mixture
from .viz import Table, table

__all__ = [
    "compare_runs",
    "nearest_training_images",
    "evaluate_features",
    "evaluate_samples",
    "evaluate",
    "format_results",
    "results_table",
]


def nearest_training_images(fake, train, extractor=None, n: int = 8) -> dict:
    """The memorisation check: for the first ``n`` fake images, the nearest training image.

    Distances are measured in ``extractor``'s feature space, or in pixel space when None.
    Returns ``distances`` (n,), ``indices`` (n,) into ``train`` and ``pairs`` (2n, C, H, W): the
    fake images in the first row and their neighbours below (``show_images(pairs, nrow=n)``).
    """
    fake, train = torch.as_tensor(fake)[:n], torch.as_tensor(train)
    q, r = (extractor(fake), extractor(train)) if extractor is not None else (fake, train)
    dist, idx = nearest_neighbours(q, r, k=1)
    return {
        "distances": dist[:, 0],
        "indices": idx[:, 0],
        "pairs": torch.cat([fake, train[idx[:, 0]]]),
    }


# -- scoring a generator --------------------------------------------------------------------


def evaluate_features(
    f_fake, f_real, extractor: FeatureExtractor, f_train=None, k_pr: int = 3, k_dc: int = 5
) -> dict:
    """Every metric of fake features (m, d) against real ones (n, d), both made by ``extractor``.

    ``f_train`` (optional): features of training images for the memorisation check, reported as
    the median distance from fake samples and from real (held-out) samples to their nearest
    training image; a generator that copies its training set has the first far below the second.
    Compute the real and training features once and score many generators against them.
    """
    f_fake, f_real = torch.as_tensor(f_fake), torch.as_tensor(f_real)
    results = {
        "extractor": extractor.name,
        "n_real": len(f_real),
        "n_fake": len(f_fake),
        "fid": fid_from_features(f_real, f_fake),
        **precision_recall(f_real, f_fake, k_pr),
        **density_coverage(f_real, f_fake, k_dc),
        "k_pr": k_pr,
        "k_dc": k_dc,
    }
    if extractor.classifier is not None:
        hist = class_histogram(extractor.classify(f_fake), len(extractor.class_names or range(10)))
        results.update(
            modes_hit=hist["modes_hit"],
            n_classes=len(hist["counts"]),
            kl_uniform=hist["kl_uniform"],
            class_fractions=hist["fractions"].tolist(),
        )
    if f_train is not None:
        results.update(
            n_train=len(f_train),
            nn_train_fake=float(nearest_neighbours(f_fake, f_train)[0].median()),
            nn_train_real=float(nearest_neighbours(f_real, f_train)[0].median()),
        )
    return results


def evaluate_samples(
    fake, real, extractor: FeatureExtractor, train=None, k_pr: int = 3, k_dc: int = 5
) -> dict:
    """Every metric of ``fake`` against ``real`` (images or points) in ``extractor``'s features;
    ``train``: training images for the memorisation check (see ``evaluate_features``)."""
    return evaluate_features(
        extractor(fake),
        extractor(real),
        extractor,
        None if train is None else extractor(train),
        k_pr,
        k_dc,
    )


def _generator_output(generator) -> tuple:
    """(channels, size) of an image generator, or (2,) for a generator of 2-D points."""
    if hasattr(generator, "image_size"):
        return generator.channels, generator.image_size
    shape = tuple(getattr(generator, "output_shape", ()))
    return (shape[0], shape[-1]) if len(shape) == 3 else shape


def evaluate(
    generator: nn.Module,
    dataset_name: str,
    n: int = 2000,
    extractor="auto",
    seed: int = 0,
    n_train: int = 10_000,
    device="cpu",
    data_dir=None,
) -> dict:
    """Score a generator against the held-out test split of ``dataset_name``.

    ``n`` fake samples against up to ``n`` test images (all of them when the split is smaller);
    ``extractor``: a ``FeatureExtractor``, a name, or ``"auto"`` (the dataset's classifier,
    else Inception-v3). Toy datasets (ring, grid) also get ``toy_mode_coverage``. Returns a
    dict of every score with the extractor's name and sample sizes; ``format_results`` prints it.
    """
    device = resolve_device(device)
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    out = _generator_output(generator)
    toy = dataset_name in ("ring", "grid")
    if toy != (out == (2,)):
        raise ValueError(f"a generator of shape {out} cannot be scored on {dataset_name!r}")
    if not isinstance(extractor, FeatureExtractor):
        extractor = feature_extractor(
            default_extractor(dataset_name) if extractor == "auto" else extractor, device
        )
    generator = generator.to(device)
    fake = sample_generator(generator, n, seed, device=device)
    if toy:
        real = load_dataset(dataset_name, split="test", limit=n, seed=seed).x
        results = evaluate_samples(fake, real, extractor)
        centres, std = toy_mixture(dataset_name)
        cover = toy_mode_coverage(fake, centres, std)
        results.update(
            modes_hit=cover["modes_hit"], n_classes=len(centres), high_quality=cover["high_quality"]
        )
    else:
        channels, size = out
        real = load_dataset(
            dataset_name, size, "test", data_dir=data_dir, channels=channels, limit=n
        ).x
        train = (
            load_dataset(
                dataset_name, size, "train", data_dir=data_dir, channels=channels, limit=n_train
            ).x
            if n_train
            else None
        )
        results = evaluate_samples(fake, real, extractor, train)
    results["dataset"] = dataset_name
    return results


def format_results(results: dict) -> str:
    """One line per score, each naming the extractor and sample sizes it was measured with."""
    tag = f"{results['extractor']}, n_real={results['n_real']}, n_fake={results['n_fake']}"
    lines = [
        f"FID ({tag}) = {results['fid']:.3f}",
        f"precision (k={results['k_pr']}, {tag}) = {results['precision']:.3f}",
        f"recall (k={results['k_pr']}, {tag}) = {results['recall']:.3f}",
        f"density (k={results['k_dc']}, {tag}) = {results['density']:.3f}",
        f"coverage (k={results['k_dc']}, {tag}) = {results['coverage']:.3f}",
    ]
    if "kl_uniform" in results:
        lines += [
            f"classes hit (>= 1% of samples; {results['extractor']}, "
            f"n_fake={results['n_fake']}) = {results['modes_hit']} of {results['n_classes']}",
            f"KL(class histogram || uniform) ({results['extractor']}, "
            f"n_fake={results['n_fake']}) = {results['kl_uniform']:.3f} "
            f"(log {results['n_classes']} = {math.log(results['n_classes']):.3f} for one class)",
        ]
    if "high_quality" in results:
        lines += [
            f"modes hit (within 3 std; n_fake={results['n_fake']}) = {results['modes_hit']} of "
            f"{results['n_classes']}",
            f"high-quality samples (within 3 std; n_fake={results['n_fake']}) = "
            f"{results['high_quality']:.3f}",
        ]
    if "nn_train_fake" in results:
        t = f"{results['extractor']}, n_train={results['n_train']}"
        lines.append(
            f"median distance to nearest training image ({t}): "
            f"fake {results['nn_train_fake']:.3f}, held-out real {results['nn_train_real']:.3f}"
        )
    return "\n".join(lines)


def results_table(rows: dict, digits: int = 3) -> Table:
    """A table of ``{label: results}`` (from ``evaluate``/``evaluate_samples``), one row each,
    with the extractor and sample sizes in every row (scores are comparable only when they
    match)."""
    columns = [
        ("fid", "FID"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("density", "density"),
        ("coverage", "coverage"),
        ("modes_hit", "classes hit"),
        ("kl_uniform", "KL to uniform"),
        ("nn_train_fake", "NN distance to train"),
    ]
    columns = [
        (k, title, "" if k == "modes_hit" else f".{digits}f")
        for k, title in columns
        if any(k in r for r in rows.values())
    ]
    labelled = {
        label: {**r, "sizes": f"{r['extractor']}, {r['n_real']}, {r['n_fake']}"}
        for label, r in rows.items()
    }
    return table(labelled, ["", *columns, ("sizes", "features, n_real, n_fake")])


def compare_runs(scores_a, scores_b, higher_is_better: bool) -> dict:
    """The book's run-comparison rule (chapter 08): the mean and the sample standard deviation
    (n - 1) of two models' per-seed scores, and ``winner`` "a" or "b" only when the better mean
    beats the other by more than ``std_a + std_b``, else "tie". ``higher_is_better``: False for
    FID, True for precision and recall. Each side needs at least two scores."""
    a, b = [float(v) for v in scores_a], [float(v) for v in scores_b]
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"compare_runs needs at least two scores a side (one per seed) for a spread, got "
            f"{len(a)} and {len(b)}: train more seeds"
        )
    mean_a, std_a = statistics.mean(a), statistics.stdev(a)
    mean_b, std_b = statistics.mean(b), statistics.stdev(b)
    gap = (mean_a - mean_b) if higher_is_better else (mean_b - mean_a)  # > 0: a is better
    winner = ("a" if gap > 0 else "b") if abs(gap) > std_a + std_b else "tie"
    return {"mean_a": mean_a, "std_a": std_a, "mean_b": mean_b, "std_b": std_b, "winner": winner}
