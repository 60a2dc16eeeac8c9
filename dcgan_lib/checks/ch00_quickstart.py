"""Checks of the quickstart (notebooks/00_quickstart)."""

from __future__ import annotations

import torch

from ._common import _call, _close, _expect, _finite, _in_range, _passed, _shape, _tensor


def check_to_unit_range(to_unit_range) -> bool:
    """`to_unit_range(pixels, max_value)` maps pixel values in [0, max_value] to [-1, 1]."""
    for max_value in (16.0, 255.0):
        pixels = torch.linspace(0, max_value, 7).reshape(1, 1, 7)
        got = _tensor(
            _call(to_unit_range, pixels.clone(), max_value, what="to_unit_range"),
            "to_unit_range's result",
        )
        _shape(got, pixels.shape, f"to_unit_range(pixels, {max_value:g})")
        _expect(
            got.is_floating_point(), f"to_unit_range should return floats, got dtype {got.dtype}"
        )
        lo, hi = float(got.min()), float(got.max())
        _expect(
            not (abs(lo) < 1e-6 and abs(hi - 1) < 1e-6),
            f"to_unit_range(pixels, {max_value:g}) gives values in [0, 1]; the generator's tanh "
            "output lies in [-1, 1], so 0 should map to -1 and max_value to 1",
        )
        _close(got, pixels / max_value * 2 - 1, f"to_unit_range(pixels, {max_value:g})")
    return _passed("to_unit_range")


def check_generated_images(images, n: int, channels: int, image_size: int) -> bool:
    """A batch of `n` generator samples: (n, channels, image_size, image_size) in [-1, 1]."""
    images = _tensor(images, "images")
    _expect(
        images.dim() == 4,
        f"images should be a 4-D batch (N, C, H, W), got {images.dim()} dimensions "
        f"with shape {tuple(images.shape)}",
    )
    _shape(images, (n, channels, image_size, image_size), "images")
    _finite(images, "images")
    _in_range(images, -1.0, 1.0, "images (the generator ends in tanh)")
    if n > 1:
        spread = float(images.flatten(1).std(dim=0).mean())
        _expect(
            spread > 1e-4,
            f"all {n} images are the same (spread {spread:.2g}): give each image its "
            "own noise vector, e.g. torch.randn(n, latent_dim)",
        )
    return _passed(f"{n} generated images")


def check_discriminator_logits(logits, n: int) -> bool:
    """The discriminator's answer for `n` images: `n` raw logits (no sigmoid applied)."""
    logits = _tensor(logits, "logits")
    _shape(logits, (n,), "logits (one number per image)")
    _finite(logits, "logits")
    if n >= 8:
        lo, hi = float(logits.min()), float(logits.max())
        _expect(
            not (0.0 <= lo and hi <= 1.0),
            f"all {n} logits lie in [0, 1] ({lo:.3g} to {hi:.3g}): it looks like a sigmoid was "
            "applied; the book's losses take raw logits (the sigmoid is inside "
            "BCEWithLogitsLoss)",
        )
    return _passed(f"discriminator logits for {n} images")
