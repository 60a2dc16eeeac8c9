"""A timeline of papers: the figure of the closing chapter (what came after DCGAN).

A milestone is a paper with the date it first appeared (its arXiv version, as year and
month), a short name, and the problem of DCGAN's it addressed; ``plot_timeline`` draws them
on one date axis, one row per problem, so that a reader sees both the order and what each
paper was for.
"""

from __future__ import annotations

from typing import NamedTuple


class Milestone(NamedTuple):
    name: str  # short name, e.g. "WGAN"
    year: int  # first public version (arXiv)
    month: int  # 1-12
    problem: str  # the row it is drawn on, e.g. "instability"
    cite: str = ""  # the book's bibliography key


def _when(m: Milestone) -> float:
    return m.year + (m.month - 1) / 12


def _check(milestones) -> list[Milestone]:
    milestones = list(milestones)
    if not milestones:
        raise ValueError("plot_timeline needs at least one Milestone; got none")
    for m in milestones:
        if not isinstance(m, Milestone):
            raise ValueError(
                f"plot_timeline takes Milestone(name, year, month, problem), got {type(m).__name__}"
            )
        if not 1 <= m.month <= 12:
            raise ValueError(f"{m.name}: month must be 1-12, got {m.month}")
    return milestones


def plot_timeline(milestones, rows=None, ax=None, title: str | None = None):
    """Draw ``milestones`` on a date axis, one row per problem (``rows`` gives their order,
    top to bottom; by default the order in which problems first appear). Returns the axes."""
    milestones = _check(milestones)
    rows = list(rows) if rows is not None else list(dict.fromkeys(m.problem for m in milestones))
    unknown = sorted({m.problem for m in milestones} - set(rows))
    if unknown:
        raise ValueError(f"milestones on rows not in `rows`: {unknown}; add them to `rows`")
    # pyplot is imported on first use, as in viz: a notebook or the book build picks the backend
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 1.0 + 0.95 * len(rows)))
    y_of = {row: len(rows) - 1 - i for i, row in enumerate(rows)}
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, row in enumerate(rows):
        ax.axhline(y_of[row], color="0.85", lw=0.8, zorder=0)
        on_row = sorted((m for m in milestones if m.problem == row), key=_when)
        k, last = 0, None
        for m in on_row:
            x = _when(m)
            ax.plot(x, y_of[row], "o", color=colours[i % len(colours)], zorder=2)
            # papers close in time take turns above, below, higher and lower, so that their
            # labels do not overlap; a paper far from the last starts above again
            k = k + 1 if last is not None and x - last < 0.9 else 0
            last = x
            dy = (0.15, -0.15, 0.38, -0.38)[k % 4]
            ax.text(x, y_of[row] + dy, m.name, ha="center", va="bottom" if dy > 0 else "top",
                    fontsize=8)  # fmt: skip
    years = [m.year for m in milestones]
    ax.set_xlim(min(years) - 0.5, max(years) + 1.5)
    ax.set_xticks(range(min(years), max(years) + 2))
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks([y_of[r] for r in rows], rows)
    ax.set_xlabel("first public version (year)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return ax
