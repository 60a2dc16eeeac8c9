"""Checks of a GAN on 2-D data (notebooks/02_gan_2d)."""

from __future__ import annotations

import torch
from torch import nn

from ..metrics import toy_mode_coverage
from ..toys import toy_mixture
from ._common import CheckFailed, _call, _expect, _finite, _module, _passed, _shape


def _mode_coverage_cases():
    """(name, samples (n, 2), centres (K, 2), std) with unambiguous answers: every sample lies
    well inside 3 std of a centre (at most 2.83 std) or well outside (at least 4 std)."""
    g = torch.Generator().manual_seed(2)
    ring, ring_std = toy_mixture("ring")
    grid, grid_std = toy_mixture("grid")

    def near(centres, idx, std, radius=None):
        """Points around centres[idx]: within 2.83 std (a box of +-2 std), or at exactly
        `radius` std."""
        if radius is None:
            offset = (2 * torch.rand(len(idx), 2, generator=g) - 1) * 2 * std
        else:
            angle = 2 * torch.pi * torch.rand(len(idx), generator=g)
            offset = radius * std * torch.stack([angle.cos(), angle.sin()], dim=1)
        return centres[idx] + offset

    cases = []
    three = near(ring, torch.tensor([0, 3, 5]).repeat(100), ring_std)  # 300 on three modes
    cases.append(
        (
            "the ring, 3 modes hit and 100 of 400 samples stranded at the origin",
            torch.cat([three, torch.zeros(100, 2)]),
            ring,
            ring_std,
        )
    )
    cases.append(
        (
            "the grid, a collapsed generator (all 200 samples on one mode)",
            near(grid, torch.full((200,), 12), grid_std),
            grid,
            grid_std,
        )
    )
    inside = near(grid, torch.randint(0, 25, (120,), generator=g), grid_std, radius=2.5)
    outside = near(grid, torch.randint(0, 25, (80,), generator=g), grid_std, radius=4.0)
    cases.append(
        (
            "the grid, 120 samples at 2.5 std and 80 at 4 std from a centre",
            torch.cat([inside, outside]),
            grid,
            grid_std,
        )
    )
    cases.append(
        (
            "the ring, every sample 4 std from a centre (no mode hit)",
            near(ring, torch.arange(8).repeat(25), ring_std, radius=4.0),
            ring,
            ring_std,
        )
    )
    cases.append(
        (
            "the grid, 2000 samples spread uniformly over [-5, 5]^2",
            10 * torch.rand(2000, 2, generator=g) - 5,
            grid,
            grid_std,
        )
    )
    return cases


def _modes_hint(modes, want: int, k: int, no_threshold: dict, one_std: dict) -> str:
    """What a wrong modes_hit says about the answer; the most specific mistake first."""
    if modes == no_threshold["modes_hit"]:  # also when that is every centre: it names the cause
        return (
            "that counts the centres that are nearest to some sample, however far away; "
            "count only samples within 3 * std of the centre"
        )
    if modes == k and want < k:
        return (
            "every centre was counted: a mode is hit only when some sample lies within 3 * std "
            "of it"
        )
    if modes == one_std["modes_hit"]:
        return "that uses a radius of 1 std; the radius is 3 * std"
    return "a mode is hit when at least one sample lies within 3 * std of its centre"


def _quality_hint(quality: float, want: float, n: int, no_threshold: dict, one_std: dict) -> str:
    def close(x):
        return abs(quality - x) <= 1e-6

    if abs(quality - want * n) <= 1e-6 * n:
        return f"that is a count of samples; return the fraction (divide by the {n} samples)"
    if close(one_std["high_quality"]):
        return "that uses a radius of 1 std; the radius is 3 * std"
    if close(no_threshold["high_quality"]):
        return "every sample was counted; count only samples within 3 * std of their nearest centre"
    return "high_quality is the fraction of samples within 3 * std of their nearest centre"


def check_mode_coverage(mode_coverage) -> bool:
    """`mode_coverage(samples, centres, std)` -> `(modes_hit, high_quality)`: the number of
    mixture centres with at least one sample within 3 std of them, and the fraction of samples
    that lie within 3 std of some centre; compared with `dcgan_lib.toy_mode_coverage`."""
    for name, samples, centres, std in _mode_coverage_cases():
        what = f"mode_coverage on {name}"
        got = _call(mode_coverage, samples.clone(), centres.clone(), std, what="mode_coverage")
        _expect(
            isinstance(got, (tuple, list)) and len(got) == 2,
            "mode_coverage should return a pair (modes_hit, high_quality), got "
            f"{type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""),
        )
        modes, quality = (float(v) if torch.is_tensor(v) else v for v in got)
        want = toy_mode_coverage(samples, centres, std)
        n, k = len(samples), len(centres)
        no_threshold = toy_mode_coverage(samples, centres, std, n_std=float("inf"))
        one_std = toy_mode_coverage(samples, centres, std, n_std=1.0)
        if modes != want["modes_hit"]:
            hint = _modes_hint(modes, want["modes_hit"], k, no_threshold, one_std)
            raise CheckFailed(
                f"{what}: expected modes_hit = {want['modes_hit']} (of {k}), got {modes}; {hint}"
            )
        if not abs(float(quality) - want["high_quality"]) <= 1e-6:  # a nan fails too
            hint = _quality_hint(float(quality), want["high_quality"], n, no_threshold, one_std)
            raise CheckFailed(
                f"{what}: expected high_quality = {want['high_quality']:.4f}, "
                f"got {float(quality):.4g}; {hint}"
            )
    return _passed("mode_coverage")


def check_point_generator(G, latent_dim: int) -> bool:
    """A generator of 2-D points for the toy mixtures: an `nn.Module` with a `latent_dim`
    attribute (the trainer reads it) mapping noise (n, latent_dim) to points (n, 2), with no
    squashing output layer (the ring's points lie at radius 2, the grid's out to 4)."""
    _module(G, "G")
    params = list(G.parameters())
    _expect(len(params) > 0, "G has no parameters to train")
    _expect(
        getattr(G, "latent_dim", None) == latent_dim,
        f"G.latent_dim should be {latent_dim} (the trainer reads it to draw noise), got "
        f"{getattr(G, 'latent_dim', 'no such attribute')!r}; set self.latent_dim in __init__",
    )
    leaves = [m for m in G.modules() if not any(True for _ in m.children())]
    last = leaves[-1] if leaves else None
    _expect(
        not isinstance(last, (nn.Tanh, nn.Sigmoid, nn.Hardtanh)),
        f"G ends in {type(last).__name__}, which squashes its output into a small range, but "
        "the ring's points lie at radius 2 and the grid's reach 4; end with a plain "
        "nn.Linear(..., 2)",
    )
    n = 64
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0)).to(params[0].device)
    try:
        points = G(z)
    except (RuntimeError, ValueError) as e:
        raise CheckFailed(
            f"G(z) failed for noise of shape {tuple(z.shape)}: {str(e).splitlines()[0]}"
        ) from None
    _expect(torch.is_tensor(points), f"G(z) should return a tensor, got {type(points).__name__}")
    _shape(points.detach(), (n, 2), f"G(z) for noise of shape {tuple(z.shape)}")
    _finite(points.detach(), "G's points")
    spread = float(points.detach().std(dim=0).mean())
    _expect(
        spread > 1e-6,
        f"G maps all {n} noise vectors to the same point: its output does not depend on z",
    )
    G.zero_grad(set_to_none=True)
    points.square().sum().backward()
    reached = sum(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in params)
    _expect(
        reached == len(params),
        f"gradients reach only {reached} of G's {len(params)} parameter tensors; "
        "is part of the network detached or unused?",
    )
    G.zero_grad(set_to_none=True)
    return _passed(f"a generator of 2-D points (latent_dim={latent_dim})")
