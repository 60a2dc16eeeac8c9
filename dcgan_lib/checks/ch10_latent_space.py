"""Checks of the latent space (notebooks/10_latent_space): spherical interpolation and
dropping feature maps."""

from __future__ import annotations

import math

import torch

from ._common import CheckFailed, _call, _expect, _passed, _shape, _tensor


def _slerp_reference(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """In float64, by rotating z0's direction towards z1's in the plane they span, with the
    length moving as the formula's weights move it: the formula's result, built another way."""
    a, b = z0.double(), z1.double()
    omega = math.acos(float((a @ b) / (a.norm() * b.norm())))
    w0 = math.sin((1 - t) * omega) / math.sin(omega)
    w1 = math.sin(t * omega) / math.sin(omega)
    return w0 * a + w1 * b


def _pairs():
    """(name, z0, z1): equal norms in 100-D (as Gaussian latents nearly have), unequal norms,
    and a small angle."""
    g = torch.Generator().manual_seed(10)
    u, v = torch.randn(2, 100, generator=g, dtype=torch.float64)
    v = v - (v @ u) / (u @ u) * u  # at right angles, as independent 100-D latents nearly are
    z0, z1 = u / u.norm() * 10, v / v.norm() * 10
    w = torch.randn(100, generator=g, dtype=torch.float64)
    near = z0 + 2 * w / w.norm()
    return [
        ("two 100-D latents of norm 10", z0, z1),
        ("latents of norms 10 and 4", z0, v / v.norm() * 4),
        ("latents 12 degrees apart", z0, near / near.norm() * 10),
    ]


def _close_to(x: torch.Tensor, y: torch.Tensor, tol: float = 1e-4) -> bool:
    return bool((x - y).norm() <= tol * (1 + y.norm()))


def _slerp_hint(got: torch.Tensor, z0, z1, t: float) -> str | None:
    """What a wrong answer at t says about the formula used; the likeliest slip first."""
    omega = math.acos(float((z0 @ z1) / (z0.norm() * z1.norm())))
    linear = (1 - t) * z0 + t * z1
    if _close_to(got, linear):
        ratio = float(((z0 + z1) / 2).norm() / z0.norm())
        return (
            "you returned a linear interpolation: halfway between these two latents its norm is "
            f"{ratio:.2f} of the endpoints'; weight z0 and z1 by sin((1-t) omega) / sin(omega) "
            "and sin(t omega) / sin(omega)"
        )
    if _close_to(got, math.sin((1 - t) * omega) * z0 + math.sin(t * omega) * z1):
        return "did not normalise for the angle: divide both weights by sin(omega)"
    if _close_to(
        got,
        math.sin(t * omega) / math.sin(omega) * z0
        + math.sin((1 - t) * omega) / math.sin(omega) * z1,
    ):
        return "the weights of z0 and z1 are swapped: t=0 must give z0 and t=1 z1"
    degrees = math.radians(omega)  # omega mistaken for degrees, then converted again
    if _close_to(
        got,
        math.sin((1 - t) * degrees) / math.sin(degrees) * z0
        + math.sin(t * degrees) / math.sin(degrees) * z1,
    ):
        return "omega is in radians already (torch.acos returns radians): do not convert it"
    return None


def check_slerp(slerp) -> bool:
    """`slerp(z0, z1, t)` -> the latent a fraction t of the way from z0 to z1 along the great
    circle through them: sin((1-t) omega)/sin(omega) z0 + sin(t omega)/sin(omega) z1, where
    omega is the angle between z0 and z1. z0, z1: (d,) float tensors; t: a float."""
    for name, z0, z1 in _pairs():
        for t in (0.0, 1.0, 0.5, 0.25, 0.8):
            what = f"slerp(z0, z1, {t:g}) on {name}"
            got = _call(slerp, z0.clone(), z1.clone(), t, what="slerp")
            got = _tensor(got, what).double()
            _shape(got, z0.shape, what)
            if not bool(torch.isfinite(got).all()):
                raise CheckFailed(
                    f"{what} contains NaN: the cosine of the angle is z0·z1 divided by both "
                    "norms, clamped to [-1, 1] before acos"
                )
            want = _slerp_reference(z0, z1, t)
            if _close_to(got, want):
                continue
            hint = _slerp_hint(got, z0, z1, t)
            if t == 0.0:
                if _close_to(got, z1):
                    raise CheckFailed(f"{what} returns z1: t=0 must give z0 (weights swapped?)")
                raise CheckFailed(f"t=0 does not return z0 ({what}){': ' + hint if hint else ''}")
            if t == 1.0:
                raise CheckFailed(f"t=1 does not return z1 ({what}){': ' + hint if hint else ''}")
            if hint:
                raise CheckFailed(f"{what}: {hint}")
            ratio = float(got.norm() / want.norm())
            raise CheckFailed(
                f"{what} is off the great circle: its norm is {ratio:.2f} of the right "
                "answer's; compare with sin((1-t) omega)/sin(omega) z0 + sin(t omega)/sin(omega) z1"
            )
    return _passed("slerp")


def _activations():
    g = torch.Generator().manual_seed(11)
    return torch.rand(6, 7, 6, 6, generator=g) + 0.1, [1, 4]


def check_drop_maps(drop_maps) -> bool:
    """`drop_maps(activations, maps)` -> a copy of ``activations`` (B, C, H, W) in which the
    feature maps (channels) listed in ``maps`` are zero at every position, the others
    unchanged; the input is left as it was."""
    x, maps = _activations()
    original = x.clone()
    got = _call(drop_maps, x, list(maps), what="drop_maps")
    got = _tensor(got, "drop_maps(activations, maps)")
    _expect(
        torch.equal(x, original),
        "drop_maps changed its input in place: the generator's other uses of these activations "
        "would change too; clone them first",
    )
    if got.dim() == 4 and got.shape[1] == x.shape[1] - len(maps):
        raise CheckFailed(
            "drop_maps removed the maps, so the next layer would get "
            f"{got.shape[1]} channels instead of {x.shape[1]}: set them to zero instead"
        )
    _shape(got, x.shape, "drop_maps(activations, maps)")
    want = x.clone()
    want[:, maps] = 0
    if torch.equal(got, want):
        return _passed("drop_maps")
    for dim, what in ((0, "images of the batch"), (2, "rows"), (3, "columns")):
        wrong = x.clone()
        wrong.index_fill_(dim, torch.tensor(maps), 0.0)
        if torch.equal(got, wrong):
            raise CheckFailed(
                f"drop_maps zeroed {what} {maps}, not feature maps: channels are dimension 1 of "
                "(B, C, H, W)"
            )
    kept = torch.zeros_like(x)
    kept[:, maps] = x[:, maps]
    if torch.equal(got, kept):
        raise CheckFailed("drop_maps kept only the listed maps: zero those maps, keep the others")
    zero_maps = [c for c in range(x.shape[1]) if bool((got[:, c] == 0).all())]
    changed = [
        c for c in range(x.shape[1]) if c not in maps and not torch.equal(got[:, c], x[:, c])
    ]
    raise CheckFailed(
        f"drop_maps({list(maps)}) should zero maps {list(maps)} and leave the rest unchanged; "
        f"maps all zero: {zero_maps}, other maps changed: {changed}"
    )
