"""Small helpers for the book's notebooks that must also work outside the book build.

``glue`` records a computed value for the book's prose (myst-nb's ``{glue:text}``
role). In Colab or a plain Jupyter, where myst-nb is not installed, it falls back to
showing the value (or to doing nothing when ``display=False``), so the same notebook runs
everywhere.

``describe_figure`` says what a figure shows, from its titles and axis labels. In a notebook
(IPython), importing dcgan_lib makes it a figure's plain-text form, so every figure a cell
displays carries that description beside its picture; the book uses it as the image's
alt text (book/_ext/book_html.py), where it would otherwise be the image's file name.
"""

from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure

__all__ = ["describe_figure", "glue"]
FIGURE_PREFIX = "Figure: "


def _plain(value):
    """numpy scalars and one-element tensors as Python numbers: myst-nb formats
    ``{glue:text}`name:.2f``` from the value's repr, and ``np.float64(0.02)`` (numpy 2's
    repr) is not a number it can parse."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def glue(name: str, value, display: bool = True):
    """Make ``value`` available to the book's prose as ``{glue:text}`name```."""
    value = _plain(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            from IPython.display import display as _display

            _display(value)
        return None
    return _glue(name, value, display=display)


def describe_figure(fig: Figure) -> str:
    """One line for a figure: its title, else its panels' titles, else their axis labels."""
    parts = []
    if fig._suptitle is not None and fig._suptitle.get_text().strip():
        parts.append(fig._suptitle.get_text().strip())
    panels = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.get_title().strip() for ax in panels if ax.get_title().strip()]
    if titles:
        parts.append("; ".join(dict.fromkeys(titles)))
    if not parts:
        labels = [
            f"{ax.get_ylabel().strip()} against {ax.get_xlabel().strip()}"
            for ax in panels
            if ax.get_xlabel().strip() and ax.get_ylabel().strip()
        ]
        parts.append("; ".join(dict.fromkeys(labels)) or f"{len(panels)} panel(s)")
    text = " ".join(": ".join(parts).split())  # titles may hold line breaks
    return FIGURE_PREFIX + (text if len(text) <= 300 else text[:297] + "...")


def _show_figures_described() -> None:
    """In IPython, a figure's plain-text form becomes describe_figure's line.

    matplotlib's inline backend, when it starts (at a cell's first figure), removes every
    display formatter registered for Figure; so the formatter is put back after each cell,
    before the backend's own post-execute hook displays the cell's figures."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter") or not hasattr(shell, "events"):
        return
    try:
        backend = matplotlib.get_backend(auto_select=False)
    except TypeError:  # matplotlib < 3.10
        backend = matplotlib.rcParams["backend"]
    if backend in ("inline", "module://matplotlib_inline.backend_inline"):
        # start the inline backend now, as the first figure would: it clears Figure's formatters
        import matplotlib_inline.backend_inline  # noqa: F401
    plain = shell.display_formatter.formatters["text/plain"]

    def describe(fig, printer, cycle):
        printer.text(describe_figure(fig))

    def register(*args, **kwargs):
        if plain.type_printers.get(Figure) is not describe:
            plain.for_type(Figure, describe)

    register()
    for event in ("pre_run_cell", "post_execute"):
        if not any(
            getattr(f, "__name__", "") == "register" and f.__module__ == __name__
            for f in shell.events.callbacks.get(event, [])
        ):
            shell.events.register(event, register)


_show_figures_described()
