"""The class selector of the conditional DCGAN: pick a class and a noise seed, see samples.

:func:`draw_class_samples` draws ``n`` samples of one class from one noise seed on an axis;
:func:`class_samples_figure` puts one such row per (class, seed) pair in a figure, the
selector's static twin for a page without a kernel (the HTML book); :func:`class_selector`
is the ipywidgets control (a class dropdown and a seed slider) that redraws
:func:`draw_class_samples` on every change, so the two show the same pictures.
"""

from __future__ import annotations

import torch
from torch import nn

from .conditional import _n_classes
from .models import draw_latent
from .viz import _plt, show_images

__all__ = ["class_noise", "draw_class_samples", "class_samples_figure", "class_selector"]


def _class_name(label: int, class_names) -> str:
    return class_names[label] if class_names else f"class {label}"


def class_noise(generator: nn.Module, seed: int, n: int = 8) -> torch.Tensor:
    """The ``n`` noise vectors (n, latent_dim) of one seed: the same for every class."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer (samples per row), got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return draw_latent(generator, n, rng=torch.Generator().manual_seed(seed))


@torch.no_grad()
def draw_class_samples(
    generator: nn.Module, label: int, seed: int, n: int = 8, ax=None, class_names=None
):
    """Draw G(z, label) for the ``n`` noise vectors of ``seed`` on ``ax`` (one row), titled
    with the class and the seed; returns the images (n, C, H, W) on the CPU. Eval mode, no
    gradients; the generator's train/eval mode is restored afterwards."""
    k = _n_classes(generator, "generator")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < k:
        raise ValueError(f"label must be a class index in [0, {k}), got {label!r}")
    device = next(generator.parameters()).device
    z = class_noise(generator, seed, n).to(device)
    y = torch.full((n,), label, dtype=torch.long, device=device)
    was_training = generator.training
    generator.eval()
    try:
        images = generator(z, y).float().cpu()
    finally:
        generator.train(was_training)
    ax = show_images(images, nrow=n, ax=ax)
    ax.set_title(f"{_class_name(label, class_names)}, noise seed {seed}", fontsize=9)
    return images


def class_samples_figure(generator: nn.Module, choices, n: int = 8, class_names=None):
    """The selector's static twin: one row of :func:`draw_class_samples` for each
    (label, seed) in ``choices``; returns the figure."""
    choices = list(choices)
    if not choices:
        raise ValueError("choices must hold at least one (label, seed) pair")
    fig, axes = _plt().subplots(len(choices), 1, figsize=(1.1 * n, 1.45 * len(choices) + 0.3))
    axes = list(axes) if len(choices) > 1 else [axes]
    for ax, (label, seed) in zip(axes, choices):
        draw_class_samples(generator, int(label), int(seed), n, ax, class_names)
    fig.suptitle("Class selector, fixed choices (class, noise seed)", fontsize=10)
    fig.tight_layout()
    return fig


def class_selector(generator: nn.Module, class_names=None, n: int = 8, max_seed: int = 50):
    """A class dropdown and a noise-seed slider; each change redraws
    :func:`draw_class_samples`. Needs a kernel. Its ``.result`` is the images drawn."""
    import ipywidgets as widgets  # the book's requirement, but only the selector needs it

    k = _n_classes(generator, "generator")
    options = [(_class_name(c, class_names), c) for c in range(k)]

    def show(label, seed):
        fig, ax = _plt().subplots(figsize=(1.1 * n, 1.6))
        images = draw_class_samples(generator, label, seed, n, ax, class_names)
        _plt().show()
        return images

    return widgets.interactive(
        show,
        label=widgets.Dropdown(options=options, value=0, description="class"),
        seed=widgets.IntSlider(value=0, min=0, max=max_seed, step=1, description="noise seed"),
    )
