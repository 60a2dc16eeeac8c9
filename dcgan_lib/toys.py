"""The 2-D toy data of Part I: mixtures of Gaussians whose modes a GAN must all cover.

``ring``: 8 modes evenly on a circle of radius 2 (std 0.02); ``grid``: 25 modes on
{-4, -2, 0, 2, 4}^2 (std 0.05) -- the classic mode-collapse tests. Nothing here imports
the rest of dcgan_lib.
"""

from __future__ import annotations

import math

import torch

__all__ = ["TOYS", "toy_mixture", "sample_toy"]

TOYS = ("ring", "grid")


def toy_mixture(name: str) -> tuple[torch.Tensor, float]:
    """The centres (K, 2) and standard deviation of a toy Gaussian mixture."""
    key = str(name).lower()
    if key == "ring":  # 8 modes evenly on a circle of radius 2
        angles = torch.arange(8) * (2 * math.pi / 8)
        return 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1), 0.02
    if key == "grid":  # 25 modes on {-4, -2, 0, 2, 4}^2
        ticks = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(ticks, ticks), 0.05
    raise ValueError(f"{name!r} is not a toy mixture; choose one of: ring, grid")


def sample_toy(name: str, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points (n, 2) of a toy mixture and the component (n,) each came from."""
    centres, std = toy_mixture(name)
    generator = torch.Generator().manual_seed(seed)
    component = torch.randint(len(centres), (n,), generator=generator)
    return centres[component] + std * torch.randn(n, 2, generator=generator), component
