"""KID: the unbiased MMD^2 against a direct double sum, near zero for one distribution at
any sample size (where FID is biased), larger for a shifted one, with an interval."""

from __future__ import annotations

import pytest
import torch

from dcgan_lib import fid_from_features
from dcgan_lib.metrics import kernel_inception_distance, mmd2_unbiased


def _direct(x, y):
    k = lambda a, b: (a @ b / len(a) + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return float(xx + yy - 2 * xy)


def test_mmd2_matches_the_double_sum():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(7, 3, generator=g).double(), torch.randn(5, 3, generator=g).double() + 1
    assert mmd2_unbiased(x, y) == pytest.approx(_direct(x, y), rel=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        mmd2_unbiased(x[:1], y)


def test_kid_is_unbiased_where_fid_is_not():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(4000, 16, generator=g)
    same_small, same_large = torch.randn(100, 16, generator=g), torch.randn(2000, 16, generator=g)
    shifted = torch.randn(2000, 16, generator=g) + 0.3
    small = kernel_inception_distance(real, same_small, subset_size=100, n_subsets=50)
    large = kernel_inception_distance(real, same_large, subset_size=1000, n_subsets=20)
    off = kernel_inception_distance(real, shifted, subset_size=1000, n_subsets=20)
    # one distribution: KID about 0 at both sizes; FID grows as n shrinks
    assert abs(small["kid"]) < 3 * small["kid_std"] / 50**0.5 + 1e-3
    assert abs(large["kid"]) < 1e-3
    assert fid_from_features(real, same_small) > 5 * fid_from_features(real, same_large)
    # another distribution: clearly positive, the interval excludes 0 and holds the mean
    assert off["kid_low"] > 0 and off["kid_low"] <= off["kid"] <= off["kid_high"]
    assert off["kid"] > 20 * large["kid_std"]
    assert small["subset_size"] == 100 and off["n_subsets"] == 20
