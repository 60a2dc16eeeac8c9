"""Graded checks for the book's exercises and classroom assignments.

An exercise cell holds the student's answer; the cell after it calls one check:

    from dcgan_lib import checks
    checks.check_to_unit_range(to_unit_range)

Each ``check_*`` function takes the student's object(s), tries them on inputs whose
right answer is known, and either prints one line "✓ ... passed" and returns True, or
raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader and pytest count it as a
failed test) with a message that says what is off: expected vs got shape, value range,
the missing layer, the loss vs the formula.

Writing a check for a new chapter: add a section below with a comment header, build it
from the helpers (``_expect``, ``_shape``, ``_close``, ``_in_range``), and register a
passing and a failing answer for it in tests/test_checks.py (the suite fails otherwise).
"""
from __future__ import annotations

import torch

__all__ = ["CheckFailed", "check_to_unit_range", "check_generated_images", "check_discriminator_logits"]


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says what to look at."""


# -- helpers shared by every chapter's checks -------------------------------------------

def _expect(condition, message: str) -> None:
    """Fail with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def _passed(what: str) -> bool:
    print(f"✓ {what} passed")
    return True


def _tensor(x, what: str) -> torch.Tensor:
    _expect(torch.is_tensor(x), f"{what} should be a torch.Tensor, got {type(x).__name__}")
    return x.detach()


def _shape(x: torch.Tensor, expected: tuple, what: str) -> None:
    got = tuple(x.shape)
    _expect(got == tuple(expected), f"{what} should have shape {tuple(expected)}, got {got}")


def _finite(x: torch.Tensor, what: str) -> None:
    bad = int((~torch.isfinite(x)).sum())
    _expect(bad == 0, f"{what} contains {bad} NaN or infinite values")


def _in_range(x: torch.Tensor, low: float, high: float, what: str) -> None:
    lo, hi = float(x.min()), float(x.max())
    _expect(low <= lo and hi <= high,
            f"{what} should lie in [{low:g}, {high:g}], got values in [{lo:.3g}, {hi:.3g}]")


def _close(got, expected, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare numbers or tensors; the message gives the worst mismatch."""
    got_t = torch.as_tensor(got, dtype=torch.float64).detach().cpu()
    exp_t = torch.as_tensor(expected, dtype=torch.float64).detach().cpu()
    _expect(got_t.shape == exp_t.shape,
            f"{what} should have shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}")
    if torch.allclose(got_t, exp_t, atol=atol, rtol=rtol):
        return
    err = (got_t - exp_t).abs()
    i = int(err.flatten().argmax())
    if got_t.dim() == 0:
        raise CheckFailed(f"{what}: expected {float(exp_t):.6g}, got {float(got_t):.6g}")
    raise CheckFailed(f"{what}: {int((err > atol + rtol * exp_t.abs()).sum())} of {err.numel()} values "
                      f"are off; e.g. at flat index {i}: expected {float(exp_t.flatten()[i]):.6g}, "
                      f"got {float(got_t.flatten()[i]):.6g}")


def _call(fn, *args, what: str):
    _expect(callable(fn), f"{what} should be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        raise CheckFailed(f"{what} is not written yet (it raises NotImplementedError)") from None


# -- Quickstart (notebooks/00_quickstart) -----------------------------------------------

def check_to_unit_range(to_unit_range) -> bool:
    """`to_unit_range(pixels, max_value)` maps pixel values in [0, max_value] to [-1, 1]."""
    for max_value in (16.0, 255.0):
        pixels = torch.linspace(0, max_value, 7).reshape(1, 1, 7)
        got = _tensor(_call(to_unit_range, pixels.clone(), max_value, what="to_unit_range"),
                      "to_unit_range's result")
        _shape(got, pixels.shape, f"to_unit_range(pixels, {max_value:g})")
        _expect(got.is_floating_point(), f"to_unit_range should return floats, got dtype {got.dtype}")
        lo, hi = float(got.min()), float(got.max())
        _expect(not (abs(lo) < 1e-6 and abs(hi - 1) < 1e-6),
                f"to_unit_range(pixels, {max_value:g}) gives values in [0, 1]; the generator's tanh "
                "output lies in [-1, 1], so 0 should map to -1 and max_value to 1")
        _close(got, pixels / max_value * 2 - 1, f"to_unit_range(pixels, {max_value:g})")
    return _passed("to_unit_range")


def check_generated_images(images, n: int, channels: int, image_size: int) -> bool:
    """A batch of `n` generator samples: (n, channels, image_size, image_size) in [-1, 1]."""
    images = _tensor(images, "images")
    _expect(images.dim() == 4, f"images should be a 4-D batch (N, C, H, W), got {images.dim()} dimensions "
            f"with shape {tuple(images.shape)}")
    _shape(images, (n, channels, image_size, image_size), "images")
    _finite(images, "images")
    _in_range(images, -1.0, 1.0, "images (the generator ends in tanh)")
    if n > 1:
        spread = float(images.flatten(1).std(dim=0).mean())
        _expect(spread > 1e-4, f"all {n} images are the same (spread {spread:.2g}): give each image its "
                "own noise vector, e.g. torch.randn(n, latent_dim)")
    return _passed(f"{n} generated images")


def check_discriminator_logits(logits, n: int) -> bool:
    """The discriminator's answer for `n` images: `n` raw logits (no sigmoid applied)."""
    logits = _tensor(logits, "logits")
    _shape(logits, (n,), "logits (one number per image)")
    _finite(logits, "logits")
    if n >= 8:
        lo, hi = float(logits.min()), float(logits.max())
        _expect(not (0.0 <= lo and hi <= 1.0),
                f"all {n} logits lie in [0, 1] ({lo:.3g} to {hi:.3g}): it looks like a sigmoid was applied; "
                "the book's losses take raw logits (the sigmoid is inside BCEWithLogitsLoss)")
    return _passed(f"discriminator logits for {n} images")
