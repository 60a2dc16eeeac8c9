"""Checks of the guidelines, tested (notebooks/09_guidelines_ablated)."""

from __future__ import annotations

import math

import torch

from ._common import CheckFailed, _call, _expect, _passed


def _board(n: int, kind: str) -> torch.Tensor:
    i = torch.arange(n)
    if kind == "checker":  # +1 -1 +1 ... along both axes: all power at (n/2, n/2)
        return ((i[:, None] + i[None, :]) % 2 * 2 - 1).float()
    if kind == "stripes":  # alternating columns: all power at (0, n/2)
        return (i[None, :] % 2 * 2 - 1).float().expand(n, n).clone()
    raise ValueError(kind)


def _smooth(n: int, seed: int) -> torch.Tensor:
    """Slowly varying images: a low frequency cosine with a random phase, per image."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(4, 1, 1, 1, generator=g) * 2 * math.pi
    x = torch.arange(n).float()
    return torch.cos(2 * math.pi * x[None, None, None, :] / n + phase).expand(4, 1, n, n).clone()


def check_nyquist_fraction(nyquist_fraction) -> bool:
    """`nyquist_fraction(images)` -> float: of the power in the spectrum of images (B, C, H, W),
    each image's mean removed first, the fraction at the three Nyquist frequencies (H/2, 0),
    (0, W/2) and (H/2, W/2), the power summed over images and channels."""
    n = 16

    def ask(images, what):
        got = _call(nyquist_fraction, images.clone(), what="nyquist_fraction")
        one = isinstance(got, (float, int)) or torch.is_tensor(got) and got.numel() == 1
        _expect(one, f"nyquist_fraction({what}) should return one number, got {type(got).__name__}")
        return float(got)

    checker = _board(n, "checker").expand(2, 1, n, n)
    got = ask(checker, "a checkerboard")
    _expect(
        abs(got - 1) < 1e-4,
        f"a pure checkerboard has all its power at (H/2, W/2), so the fraction is 1; got {got:.4g} "
        "(torch.fft.fft2 puts frequency k at index k: after an fftshift the indices move)",
    )
    got = ask(checker + 0.7, "a checkerboard plus a constant 0.7")
    if got < 0.99:
        raise CheckFailed(
            f"a checkerboard plus a constant should still give 1, got {got:.4g}: the constant is "
            "the zero frequency; subtract each image's mean before the FFT"
        )
    stripes = _board(n, "stripes").expand(2, 1, n, n)
    got = ask(stripes, "stripes of alternating columns")
    if got < 0.99:
        raise CheckFailed(
            f"alternating columns put all their power at (0, W/2), so the fraction is 1; got "
            f"{got:.4g}: count all three Nyquist frequencies, (H/2, 0), (0, W/2) and (H/2, W/2), "
            "not only the diagonal one (a stripe is a checkerboard along one axis)"
        )
    smooth = _smooth(n, 0)
    got = ask(smooth, "smooth images")
    _expect(
        got < 1e-3,
        "slowly varying images have almost no power at the Nyquist frequencies; got a fraction "
        f"of {got:.4g}: index the unshifted torch.fft.fft2 output at n // 2",
    )
    mix = smooth + 0.2 * _board(n, "checker")  # power fraction 0.074, amplitude 0.167
    x = mix - mix.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs() ** 2
    want = float(power[..., n // 2, n // 2].sum() / power.sum())
    amplitude = torch.fft.fft2(x).abs()
    if_amplitude = float(amplitude[..., n // 2, n // 2].sum() / amplitude.sum())
    got = ask(mix, "smooth images plus a faint checkerboard")
    if abs(got - if_amplitude) < 1e-3 and abs(want - if_amplitude) > 1e-2:
        raise CheckFailed(
            f"got {got:.4g}, the fraction of the amplitude |F|; power is |F|**2 "
            f"(expected {want:.4g})"
        )
    _expect(
        abs(got - want) < 1e-3,
        f"smooth images plus a checkerboard: expected a fraction of {want:.4g}, got {got:.4g}",
    )
    return _passed("nyquist_fraction")
