"""Small helpers for the book's notebooks that must also work outside the book build.

``glue`` records a computed value for the book's prose (myst-nb's ``{glue:text}``
role). In Colab or a plain Jupyter, where myst-nb is not installed, it falls back to
showing the value (or to doing nothing when ``display=False``), so the same notebook runs
everywhere.
"""

from __future__ import annotations

__all__ = ["glue"]


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
