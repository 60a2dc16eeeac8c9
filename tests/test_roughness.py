"""metrics.roughness: the mean absolute difference between neighbouring pixels."""

import pytest
import torch

from dcgan_lib import roughness


def test_flat_images_are_smooth_and_a_checkerboard_is_rough():
    assert roughness(torch.zeros(3, 1, 8, 8)) == 0.0
    board = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2 * 2.0 - 1  # -1, 1, ...
    assert roughness(board.expand(2, 3, 8, 8)) == pytest.approx(2.0)


def test_the_two_directions_are_averaged():
    stripes = (torch.arange(8) % 2).float().expand(1, 1, 8, 8)  # changes across, not down
    assert roughness(stripes) == pytest.approx(0.5)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        roughness(torch.zeros(8, 8))
