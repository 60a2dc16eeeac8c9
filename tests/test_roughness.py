"""metrics.roughness and metrics.checkerboard_score: how speckled, how checkered."""

import pytest
import torch

from dcgan_lib import checkerboard_score, roughness


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


def test_checkerboard_score_sees_a_period_two_pattern():
    torch.manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.randn(32, 1, 36, 36), 5, 1)[..., :32, :32]
    board = ((torch.arange(32)[:, None] + torch.arange(32)) % 2 * 2 - 1).float()
    plain = checkerboard_score(smooth)
    assert plain < 2
    assert checkerboard_score(smooth + 0.05 * board) > 10 * plain
    with pytest.raises(ValueError, match="even H and W"):
        checkerboard_score(torch.zeros(2, 1, 15, 15))
