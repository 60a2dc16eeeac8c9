"""Checks of the GAN game (notebooks/01_gan_game)."""

from __future__ import annotations

import torch

from ._common import CheckFailed, _call, _close, _expect, _finite, _in_range, _passed, _shape


def _normal_pdf(mu: float, sigma: float):
    def pdf(x):
        return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * (2 * torch.pi) ** 0.5)

    return pdf


def _uniform_pdf(low: float, high: float):
    def pdf(x):
        return ((x >= low) & (x <= high)).to(x.dtype) / (high - low)

    return pdf


def check_optimal_discriminator(optimal_discriminator) -> bool:
    """`optimal_discriminator(x, p_data, p_g)` returns D*(x) = p_data(x) / (p_data(x) + p_g(x))
    for a tensor of points `x`, where `p_data` and `p_g` map a tensor to its densities."""
    f64 = torch.float64
    cases = [  # (description, p_data, p_g, points): no point where both densities are 0
        (
            "p_data = N(0, 1), p_g = N(1.5, 0.8^2)",
            _normal_pdf(0.0, 1.0),
            _normal_pdf(1.5, 0.8),
            torch.linspace(-3.0, 4.0, 57, dtype=f64),
        ),
        (
            "p_data = U(0, 2), p_g = U(1, 3) (partly disjoint supports)",
            _uniform_pdf(0.0, 2.0),
            _uniform_pdf(1.0, 3.0),
            torch.tensor([0.25, 0.5, 0.9, 1.2, 1.5, 1.9, 2.1, 2.5, 2.9], dtype=f64),
        ),
        (
            "p_data = p_g = N(0, 1)",
            _normal_pdf(0.0, 1.0),
            _normal_pdf(0.0, 1.0),
            torch.linspace(-3.0, 3.0, 13, dtype=f64),
        ),
    ]
    for what, p_data, p_g, x in cases:
        got = _call(optimal_discriminator, x.clone(), p_data, p_g, what="optimal_discriminator")
        got = torch.as_tensor(got, dtype=f64).detach().cpu()
        _shape(
            got, x.shape, f"optimal_discriminator(x, ...) for {len(x)} points (one D*(x) per point)"
        )
        _finite(got, f"D*(x) for {what}")
        pd, pg = p_data(x), p_g(x)
        expected = pd / (pd + pg)
        swapped = pg / (pd + pg)
        if torch.allclose(got, swapped, atol=1e-6) and not torch.allclose(expected, swapped):
            raise CheckFailed(
                f"for {what} your D*(x) is p_g / (p_data + p_g): swapped. D(x) is the probability "
                "that x is REAL, so it is near 1 where only the data have mass"
            )
        _in_range(got, 0.0, 1.0, f"D*(x) for {what} (a probability that x is real)")
        _close(got, expected, f"D*(x) for {what}", atol=1e-6)
    return _passed("optimal_discriminator")


def _jsd_reference(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = (p + q) / 2
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum()
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum()
    return (kl_pm + kl_qm) / 2


def _jsd_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(description, p, q): equal, disjoint, zero entries, and random distributions."""
    # its own generator: the student's RNG stream is left alone
    g = torch.Generator().manual_seed(0)
    random = [w / w.sum() for w in torch.rand(4, 6, generator=g, dtype=torch.float64)]
    t = torch.tensor
    cases = [
        ("p = q = [0.2, 0.3, 0.5]", t([0.2, 0.3, 0.5]), t([0.2, 0.3, 0.5])),
        ("p = [0.5, 0.5], q = [1, 0]", t([0.5, 0.5]), t([1.0, 0.0])),
        (
            "disjoint supports p = [0.5, 0.5, 0, 0], q = [0, 0, 0.3, 0.7]",
            t([0.5, 0.5, 0.0, 0.0]),
            t([0.0, 0.0, 0.3, 0.7]),
        ),
        ("p = [0.1, 0.6, 0.3], q = [0.4, 0.4, 0.2]", t([0.1, 0.6, 0.3]), t([0.4, 0.4, 0.2])),
        (
            "an outcome neither has: p = [0.5, 0.5, 0], q = [1, 0, 0]",
            t([0.5, 0.5, 0.0]),
            t([1.0, 0.0, 0.0]),
        ),
    ]
    cases += [(f"random 6-outcome distributions #{i}", random[i], random[i + 1]) for i in range(3)]
    return [(what, p.to(torch.float64), q.to(torch.float64)) for what, p, q in cases]


def check_jsd(jsd) -> bool:
    """`jsd(p, q)` returns the Jensen-Shannon divergence, in nats, of two discrete
    distributions given as 1-D tensors of probabilities (entries may be 0)."""
    for what, p, q in _jsd_cases():
        got = _call(jsd, p.clone(), q.clone(), what="jsd")
        got = torch.as_tensor(got, dtype=torch.float64).detach().cpu()
        _expect(
            got.numel() == 1, f"jsd(p, q) should return one number, got shape {tuple(got.shape)}"
        )
        got = got.reshape(())
        expected = _jsd_reference(p, q)
        if torch.isnan(got):
            raise CheckFailed(
                f"jsd for {what} is nan: 0 * log 0 must count as 0 (the limit of "
                "t log t as t -> 0), also where p, q and m are all 0. Use "
                "torch.xlogy(p, p) - torch.xlogy(p, m), or sum only where p > 0"
            )
        if torch.isinf(got):
            raise CheckFailed(
                f"jsd for {what} is {float(got)}: a log of a zero probability. Compare p and q "
                "with the mixture m = (p + q) / 2, not with each other: m > 0 wherever p or q is"
            )
        if abs(float(expected)) > 1e-3:
            ratio = float(got / expected)
            if abs(ratio - 1 / torch.log(torch.tensor(2.0)).item()) < 1e-3:
                raise CheckFailed(
                    f"jsd for {what}: expected {float(expected):.6g} nats, got {float(got):.6g}, "
                    "which is the value in bits; use the natural logarithm (torch.log)"
                )
            if abs(ratio - 2) < 1e-6 or abs(ratio - 0.5) < 1e-6:
                raise CheckFailed(
                    f"jsd for {what}: expected {float(expected):.6g}, got {float(got):.6g} "
                    f"({ratio:g} times too much): JSD = KL(p||m)/2 + KL(q||m)/2 with m = (p + q)/2"
                )
        _close(got, expected, f"jsd for {what}", atol=1e-6)
        swapped = _call(jsd, q.clone(), p.clone(), what="jsd")
        swapped = torch.as_tensor(swapped, dtype=torch.float64).reshape(())
        _close(swapped, got, f"jsd(q, p) vs jsd(p, q) for {what} (JSD is symmetric)", atol=1e-6)
    return _passed("jsd")
