"""Pictures of a generator's latent space: rows of frames, and the latent explorer.

:func:`latent_explorer` is an ipywidgets control (dropdowns for two class means, a slider
between them, a slider along each named direction) that redraws one sample; it needs a
running kernel. :func:`explorer_figure` draws fixed positions of the same controls with the
same function, :func:`draw_position`, so a page without a kernel (the HTML book) shows what
the sliders do.
"""

from __future__ import annotations

import torch
from torch import nn

from .latent import _classifier, slerp
from .models import sample_generator
from .viz import _plt, show_images

__all__ = [
    "plot_latent_rows",
    "position_latent",
    "draw_position",
    "explorer_figure",
    "latent_explorer",
]


def plot_latent_rows(generator: nn.Module, rows: dict, title: str | None = None, axes=None):
    """One strip of frames per entry of ``rows`` ({label: latents (T, d)}), labelled on the
    left; returns the axes."""
    if not rows:
        raise ValueError("rows must name at least one sequence of latents")
    if axes is None:
        width = max(len(z) for z in rows.values())
        fig, axes = _plt().subplots(len(rows), 1, figsize=(1.1 * width, 1.25 * len(rows) + 0.4))
    axes = list(axes) if hasattr(axes, "__len__") else [axes]
    for ax, (label, z) in zip(axes, rows.items()):
        frames = sample_generator(generator, z=torch.as_tensor(z))
        show_images(frames, nrow=len(frames), ax=ax)
        ax.set_axis_on()
        ax.set(xticks=[], yticks=[])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        axes[0].figure.suptitle(title)
    return axes


def position_latent(anchors, a: int, b: int, t: float, directions=None, amounts=()):
    """The latent at one position of the explorer: slerp(anchors[a], anchors[b], t) plus
    ``amounts[i]`` times ``directions[i]`` ((k, d), e.g. unit vectors times a step)."""
    anchors = torch.as_tensor(anchors)
    z = slerp(anchors[a], anchors[b], float(t))
    if directions is not None and len(amounts):
        z = z + (torch.as_tensor(amounts, dtype=z.dtype)[:, None] * directions).sum(0)
    return z


def draw_position(generator: nn.Module, extractor, z, ax=None, title: str | None = None) -> int:
    """Draw G(z) on ``ax`` with the class the classifier sees in its title; returns the class."""
    extractor = _classifier(extractor)
    image = sample_generator(generator, z=torch.as_tensor(z)[None])
    label = int(extractor.predict(image)[0])
    name = extractor.class_names[label] if extractor.class_names else str(label)
    ax = show_images(image, nrow=1, ax=ax)
    ax.set_title(f"{title}\nseen as {name}" if title else f"seen as {name}", fontsize=8)
    return label


def explorer_figure(
    generator: nn.Module,
    extractor,
    anchors,
    pairs,
    directions=None,
    names=(),
    base: tuple = (0, 0, 0.0),
    ts=(0.0, 0.25, 0.5, 0.75, 1.0),
    amounts=(-2.0, -1.0, 0.0, 1.0, 2.0),
):
    """The explorer's static twin: a row for each (a, b) in ``pairs`` (t along ``ts``), and a
    row for each direction (``amounts`` of it added at position ``base`` = (a, b, t)).
    Every panel is :func:`draw_position`; returns the figure."""
    extractor = _classifier(extractor)
    k = 0 if directions is None else len(directions)
    n_rows, n_cols = len(pairs) + k, max(len(ts), len(amounts))
    fig, axes = _plt().subplots(n_rows, n_cols, figsize=(1.7 * n_cols, 2.0 * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    cls = extractor.class_names or [str(i) for i in range(len(anchors))]
    short = [name.split("/")[0] for name in cls]  # "T-shirt/top" -> "T-shirt"
    for row, (a, b) in enumerate(pairs):
        for col, t in enumerate(ts):
            z = position_latent(anchors, a, b, t)
            title = f"{short[a]} -> {short[b]}\nt={t:g}"
            draw_position(generator, extractor, z, axes[row, col], title)
    for i in range(k):
        for col, amount in enumerate(amounts):
            step = [0.0] * k
            step[i] = amount
            z = position_latent(anchors, *base, directions, step)
            name = names[i] if i < len(names) else f"direction {i}"
            draw_position(generator, extractor, z, axes[len(pairs) + i, col], f"{name} {amount:+g}")
    fig.suptitle(
        "Latent explorer, fixed positions: class means joined by slerp; steps along directions"
    )
    fig.tight_layout()
    return fig


def latent_explorer(
    generator: nn.Module, extractor, anchors, directions=None, names=(), limit: float = 2.0
):
    """Dropdowns for two anchors (class means), a slider t between them (slerp) and a slider
    along each direction; each change redraws :func:`draw_position`. Needs a kernel. Its
    ``.result`` is the class seen at the current position."""
    import ipywidgets as widgets  # the book's requirement, but only the explorer needs it

    extractor = _classifier(extractor)
    cls = extractor.class_names or [str(i) for i in range(len(anchors))]
    options = [(name, i) for i, name in enumerate(cls) if bool(torch.isfinite(anchors[i]).all())]
    k = 0 if directions is None else len(directions)
    sliders = {
        f"d{i}": widgets.FloatSlider(
            value=0.0,
            min=-limit,
            max=limit,
            step=0.25,
            description=names[i] if i < len(names) else f"direction {i}",
        )
        for i in range(k)
    }

    def show(a, b, t, **amounts):
        z = position_latent(anchors, a, b, t, directions, [amounts[f"d{i}"] for i in range(k)])
        fig, ax = _plt().subplots(figsize=(2.6, 2.9))
        label = draw_position(generator, extractor, z, ax, f"{cls[a]} -> {cls[b]}, t={t:.2f}")
        _plt().show()
        return label

    return widgets.interactive(
        show,
        a=widgets.Dropdown(options=options, value=options[0][1], description="from"),
        b=widgets.Dropdown(options=options, value=options[-1][1], description="to"),
        t=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t"),
        **sliders,
    )
