"""What every chapter's checks share: the failure they raise and the helpers that build them."""

from __future__ import annotations

import torch
from torch import nn


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says what to look at."""


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


def _module(net, what: str) -> None:
    _expect(
        isinstance(net, nn.Module), f"{what} should be a torch.nn.Module, got {type(net).__name__}"
    )


def _shape(x: torch.Tensor, expected: tuple, what: str) -> None:
    got = tuple(x.shape)
    _expect(got == tuple(expected), f"{what} should have shape {tuple(expected)}, got {got}")


def _finite(x: torch.Tensor, what: str) -> None:
    bad = int((~torch.isfinite(x)).sum())
    _expect(bad == 0, f"{what} contains {bad} NaN or infinite values")


def _in_range(x: torch.Tensor, low: float, high: float, what: str) -> None:
    lo, hi = float(x.min()), float(x.max())
    _expect(
        low <= lo and hi <= high,
        f"{what} should lie in [{low:g}, {high:g}], got values in [{lo:.3g}, {hi:.3g}]",
    )


def _close(got, expected, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare numbers or tensors; the message gives the worst mismatch."""
    got_t = torch.as_tensor(got, dtype=torch.float64).detach().cpu()
    exp_t = torch.as_tensor(expected, dtype=torch.float64).detach().cpu()
    _expect(
        got_t.shape == exp_t.shape,
        f"{what} should have shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}",
    )
    if torch.allclose(got_t, exp_t, atol=atol, rtol=rtol):
        return
    err = (got_t - exp_t).abs()
    i = int(err.flatten().argmax())
    if got_t.dim() == 0:
        raise CheckFailed(f"{what}: expected {float(exp_t):.6g}, got {float(got_t):.6g}")
    off = int((err > atol + rtol * exp_t.abs()).sum())
    raise CheckFailed(
        f"{what}: {off} of {err.numel()} values are off; e.g. at flat index {i}: "
        f"expected {float(exp_t.flatten()[i]):.6g}, got {float(got_t.flatten()[i]):.6g}"
    )


def _call(fn, *args, what: str):
    _expect(callable(fn), f"{what} should be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        raise CheckFailed(f"{what} is not written yet (it raises NotImplementedError)") from None
