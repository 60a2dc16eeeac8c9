"""Checks of evaluating a GAN (notebooks/07_evaluating_gans)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg

from ._common import CheckFailed, _call, _expect, _passed


def _frechet_cases():
    """(name, mu1, sigma1, mu2, sigma2) in float64 numpy: 1-D, identical, diagonal, general."""
    rng = np.random.default_rng(7)

    def spd(d):
        a = rng.normal(size=(d, d))
        return a @ a.T / d + 0.1 * np.eye(d)

    cases = [
        (
            "1-D Gaussians N(1, 4) and N(-2, 1)",
            np.array([1.0]),
            np.array([[4.0]]),
            np.array([-2.0]),
            np.array([[1.0]]),
        )
    ]
    s = spd(4)
    m = rng.normal(size=4)
    cases.append(("two identical 4-D Gaussians", m, s, m.copy(), s.copy()))
    cases.append(
        (
            "diagonal covariances",
            np.array([0.0, 1.0, 2.0]),
            np.diag([1.0, 4.0, 0.25]),
            np.array([1.0, -1.0, 2.0]),
            np.diag([9.0, 1.0, 0.25]),
        )
    )
    for d in (3, 8):
        mu1, s1, mu2, s2 = rng.normal(size=d), spd(d), rng.normal(size=d), spd(d)
        cases.append((f"general {d}-D covariances", mu1, s1, mu2, s2))
    return cases


def _expected_frechet(mu1, s1, mu2, s2) -> float:
    """The distance computed another way than the formula the exercise asks for: the trace of
    (sigma1 sigma2)^{1/2} is the sum of the square roots of the eigenvalues of sigma1 sigma2
    (real and positive, as the product of two positive definite matrices)."""
    diff = mu1 - mu2
    roots = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None))
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * roots.sum())


def _frechet_hint(got: float, want: float, name: str, mu1, s1, mu2, s2) -> str:
    """What a wrong Frechet distance says about the formula used; the likeliest slip first."""
    mean_term = float((mu1 - mu2) @ (mu1 - mu2))
    no_cross = mean_term + float(np.trace(s1) + np.trace(s2))
    separate = no_cross - 2 * float(np.trace(linalg.sqrtm(s1).real @ linalg.sqrtm(s2).real))

    def near(x):
        return abs(got - x) <= 1e-6 + 1e-5 * abs(x)

    if want > 0 and near(want**0.5):
        return (
            "that is the square root of the answer: the Frechet distance used by FID is the "
            "squared distance"
        )
    if near(no_cross):
        return "the cross term - 2 Tr (sigma1 sigma2)^{1/2} is missing"
    if near(mean_term):
        return (
            "only the means are compared: add the covariance term "
            "Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})"
        )
    if near(separate):
        return (
            "(sigma1 sigma2)^{1/2} is not sigma1^{1/2} sigma2^{1/2} unless the matrices commute: "
            "take the matrix square root of the product, scipy.linalg.sqrtm(sigma1 @ sigma2)"
        )
    if name.startswith("general") and not np.isfinite(got):
        return (
            "the square root must be the matrix square root (scipy.linalg.sqrtm), not np.sqrt, "
            "which works element by element"
        )
    if name.startswith("general"):
        return (
            "right for diagonal covariances but not general ones: use the matrix square root "
            "scipy.linalg.sqrtm(sigma1 @ sigma2) and the matrix product @, not element-wise * "
            "or np.sqrt"
        )
    return "compare with ||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2) - 2 Tr sqrtm(sigma1 @ sigma2)"


def check_frechet_distance(frechet_distance) -> bool:
    """`frechet_distance(mu1, sigma1, mu2, sigma2)` -> the Frechet distance between N(mu1, sigma1)
    and N(mu2, sigma2) as a float: ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2}).
    Means are (d,) and covariances (d, d) float64 numpy arrays."""
    for name, mu1, s1, mu2, s2 in _frechet_cases():
        what = f"frechet_distance on {name}"
        got = _call(
            frechet_distance,
            mu1.copy(),
            s1.copy(),
            mu2.copy(),
            s2.copy(),
            what="frechet_distance",
        )
        if torch.is_tensor(got):
            got = got.detach().cpu().numpy()
        got = np.asarray(got)
        _expect(
            got.size == 1, f"{what} should return one number, got an array of shape {got.shape}"
        )
        _expect(
            not np.iscomplexobj(got),
            f"{what} returned a complex number: scipy.linalg.sqrtm can leave a tiny imaginary "
            "part; keep the real part (covmean.real) and return a float",
        )
        got = float(got)
        want = _expected_frechet(mu1, s1, mu2, s2)
        if abs(got - want) <= 1e-6 + 1e-5 * abs(want):
            continue
        hint = _frechet_hint(got, want, name, mu1, s1, mu2, s2)
        raise CheckFailed(f"{what}: expected {want:.6g}, got {got:.6g}; {hint}")
    return _passed("frechet_distance")
