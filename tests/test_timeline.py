"""dcgan_lib.timeline: milestones drawn one row per problem, bad input refused in one line."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dcgan_lib import Milestone, plot_timeline  # noqa: E402

EVENTS = [
    Milestone("DCGAN", 2015, 11, "architecture"),
    Milestone("WGAN", 2017, 1, "instability"),
    Milestone("WGAN-GP", 2017, 3, "instability"),
]


def test_one_point_per_milestone_on_its_row():
    ax = plot_timeline(EVENTS, rows=["architecture", "instability"])
    points = [line.get_xydata()[0] for line in ax.lines if line.get_marker() == "o"]
    assert len(points) == 3
    assert sorted(y for _, y in points) == [0, 0, 1]  # the first row is drawn on top
    ticks = dict(zip((t.get_text() for t in ax.get_yticklabels()), ax.get_yticks()))
    assert ticks == {"architecture": 1, "instability": 0}
    assert {t.get_text() for t in ax.texts} == {"DCGAN", "WGAN", "WGAN-GP"}
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "events, rows, says",
    [
        ([], None, "at least one"),
        ([("WGAN", 2017, 1, "instability")], None, "Milestone"),
        ([Milestone("X", 2017, 13, "a")], None, "month"),
        (EVENTS, ["instability"], "not in `rows`"),
    ],
)
def test_bad_input_is_one_line(events, rows, says):
    with pytest.raises(ValueError, match=says):
        plot_timeline(events, rows=rows)
