"""Checks of the discriminator as a feature learner (notebooks/11_discriminator_features)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import CheckFailed, _call, _expect, _passed, _tensor

# the hidden maps of a small discriminator: three stages, halving the size, growing channels
_SHAPES = ((3, 3, 16, 16), (3, 4, 8, 8), (3, 5, 4, 4))


def _maps(seed: int = 11) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) for shape in _SHAPES]


def _pooled(maps, grid: int, pool=F.adaptive_max_pool2d, order=None, channels_last=False):
    """The features made some way: the right one, or one of the usual slips."""
    parts = []
    for m in maps if order is None else [maps[i] for i in order]:
        p = pool(m, grid)
        parts.append((p.permute(0, 2, 3, 1) if channels_last else p).flatten(1))
    return torch.cat(parts, dim=1)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), atol=1e-5, rtol=1e-4)


def _size_hint(d: int, grid: int, maps) -> str:
    """What a feature vector of the wrong length says about how it was made."""
    channels = [m.shape[1] for m in maps]
    want = sum(channels) * grid**2
    for i, c in enumerate(channels):
        if d == want - c * grid**2:
            return (
                f"the features of layer {i} (the {i + 1}. map) are missing: concatenate every map"
            )
    if d == sum(m[0].numel() for m in maps):
        return "the maps were flattened without pooling: max-pool each one to grid x grid first"
    if d == sum(channels):
        return "each map was pooled to one value per channel: pool to a grid x grid grid instead"
    for other in range(1, 9):
        if other != grid and d == sum(channels) * other**2:
            return (
                f"that is a {other}x{other} grid, not the {grid}x{grid} asked for: use the grid "
                "argument rather than a fixed size"
            )
    return f"expected sum over layers of channels x grid x grid = {want} numbers per image"


def check_pool_to_grid(pool_to_grid) -> bool:
    """`pool_to_grid(maps, grid)`: each map (B, C_l, H_l, W_l) max-pooled to (B, C_l, grid,
    grid), flattened in (channel, row, column) order, concatenated in layer order -> (B, d)."""
    for grid in (4, 2):
        maps = _maps(grid)
        copies = [m.clone() for m in maps]
        what = f"pool_to_grid(maps of shapes {[tuple(m.shape) for m in maps]}, grid={grid})"
        got = _tensor(_call(pool_to_grid, copies, grid, what="pool_to_grid"), what)
        _expect(
            all(torch.equal(a, b) for a, b in zip(maps, copies)),
            f"{what} changed the maps it was given: pool into new tensors",
        )
        _expect(
            got.dim() == 2 and got.shape[0] == 3,
            f"{what} should be (B, d) = (3, d): one flat row per image, got {tuple(got.shape)}",
        )
        want = _pooled(maps, grid)
        if got.shape[1] != want.shape[1]:
            raise CheckFailed(
                f"{what}: {got.shape[1]} numbers per image; " + _size_hint(got.shape[1], grid, maps)
            )
        if _same(got, want):
            continue
        if _same(got, _pooled(maps, grid, F.adaptive_avg_pool2d)):
            hint = "that is average pooling: the paper max-pools (F.adaptive_max_pool2d)"
        elif _same(got, _pooled(maps, grid, order=range(len(maps) - 1, -1, -1))):
            hint = "the layers are concatenated last to first: keep the first layer first"
        elif _same(got, _pooled(maps, grid, channels_last=True)):
            hint = (
                "the values are right but flattened as (row, column, channel): flatten the "
                "pooled (B, C, grid, grid) map as it is, so features line up across images"
            )
        elif _same(got.sort(1).values, want.sort(1).values):
            hint = "the right values in another order: flatten each pooled map in (C, row, col)"
        else:
            hint = "each feature should be the largest activation in its cell of the grid"
        raise CheckFailed(f"{what}: the features are not the max-pooled maps; {hint}")
    return _passed("pool_to_grid")


def _labels() -> torch.Tensor:
    """Five classes of unequal size, not sorted: 40 of class 0, 12 of each other class."""
    g = torch.Generator().manual_seed(5)
    labels = torch.cat([torch.zeros(40, dtype=torch.long), torch.arange(1, 5).repeat(12)])
    return labels[torch.randperm(len(labels), generator=g)]


def check_balanced_subset(balanced_subset) -> bool:
    """`balanced_subset(labels, n, seed)`: indices of n examples, n / k drawn at random from each
    of the k classes, without repeats, the same for the same seed."""
    labels = _labels()
    n, k = 20, 5
    what = f"balanced_subset(labels, n={n}, seed=0)"
    picks = []
    for seed in (0, 0, 1, 2):
        got = _call(balanced_subset, labels.clone(), n, seed, what="balanced_subset")
        got = _tensor(torch.as_tensor(got), what)
        _expect(
            got.dim() == 1 and len(got) == n,
            f"{what} should be {n} indices in a 1-D tensor, got shape {tuple(got.shape)}",
        )
        _expect(
            not got.is_floating_point() and int(got.min()) >= 0 and int(got.max()) < len(labels),
            f"{what} should hold integer positions from 0 to {len(labels) - 1}",
        )
        _expect(
            len(torch.unique(got)) == n,
            f"{what} repeats an example: draw without replacement (torch.randperm)",
        )
        counts = torch.bincount(labels[got], minlength=k).tolist()
        _expect(
            counts == [n // k] * k,
            f"{what} has {counts} examples of the {k} classes, not {n // k} of each: draw from "
            "each class separately (a draw from the whole set follows the classes' sizes)",
        )
        picks.append(sorted(got.tolist()))
    _expect(
        picks[0] == picks[1],
        f"{what} gave another subset when called again with the same seed: draw with a "
        "torch.Generator seeded with `seed`, not the global random state",
    )
    firsts = sorted(
        i for c in range(k) for i in torch.nonzero(labels == c).flatten()[: n // k].tolist()
    )
    _expect(
        not all(p == firsts for p in picks),
        f"{what} takes the first {n // k} examples of each class: pick them at random",
    )
    _expect(
        picks[0] != picks[2] or picks[0] != picks[3],
        f"{what} gives the same subset for seeds 0, 1 and 2: the seed must decide the draw",
    )
    return _passed("balanced_subset")
