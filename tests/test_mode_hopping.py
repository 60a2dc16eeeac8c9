"""mode_hopping: how the modes a generator covers change between snapshots (chapter 02)."""

import pytest
import torch

from dcgan_lib import mode_hopping


def test_a_generator_that_stays_put_and_one_that_hops():
    stays = torch.tensor([[5, 5, 0, 0]] * 4)  # the same two modes at every snapshot
    hops = torch.tensor([[9, 0, 0, 0], [0, 9, 0, 0], [0, 0, 9, 0], [0, 0, 0, 9]])
    assert mode_hopping(stays) == {"modes_hit": 2.0, "modes_visited": 2, "turnover": 0.0}
    assert mode_hopping(hops) == {"modes_hit": 1.0, "modes_visited": 4, "turnover": 1.0}


def test_partial_turnover_and_empty_snapshots():
    counts = [[3, 0, 1], [0, 2, 1], [0, 0, 0], [1, 0, 0]]
    # lost: {0} of {0, 2}; {1, 2} of {1, 2}; nothing was hit at the third snapshot
    assert mode_hopping(counts)["turnover"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


@pytest.mark.parametrize("bad", [torch.zeros(5), torch.zeros(1, 8), torch.zeros(2, 3, 4)])
def test_bad_shapes_are_refused_in_one_line(bad):
    with pytest.raises(ValueError, match=r"counts must be \(T, K\) with T >= 2 snapshots"):
        mode_hopping(bad)
