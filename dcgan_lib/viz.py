"""Pictures: image grids, training curves, the fixed-noise animation, 2-D sample plots,
and the tables (pictures of numbers) every chapter displays.

Every function draws into a matplotlib Axes (made for you when not given) and returns
it, so notebooks compose figures without copying plotting code. Nothing here imports
the rest of dcgan_lib.
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch
from PIL import Image

__all__ = [
    "image_grid",
    "save_grid",
    "show_images",
    "plot_history",
    "animate_samples",
    "plot_points",
    "plot_decision_surface",
    "plot_optimal_discriminator",
    "Table",
    "table",
]


def _plt():
    # pyplot is imported on first use: it picks a backend when imported, which a notebook
    # or the book build may set first, and the command line never needs it
    import matplotlib.pyplot as plt

    return plt


def image_grid(images, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images (N, C, H, W) in [-1, 1] (float) or [0, 255] (uint8) into one
    (H', W', C) float array in [0, 1] (C is 1 or 3)."""
    x = torch.as_tensor(images).detach().cpu()
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}")
    x = x.float() / 255 if x.dtype == torch.uint8 else (x.float().clamp(-1, 1) + 1) / 2
    n, c, h, w = x.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = torch.ones(c, ncol * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        r, k = divmod(i, nrow)
        y0, x0 = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, y0 : y0 + h, x0 : x0 + w] = x[i]
    return grid.permute(1, 2, 0).numpy()


def save_grid(images, path, nrow: int | None = None) -> None:
    """Write an image grid to a PNG file."""
    g = (image_grid(images, nrow) * 255).round().astype(np.uint8)
    Image.fromarray(g[..., 0] if g.shape[-1] == 1 else g).save(path)


def show_images(images, nrow: int | None = None, title: str | None = None, ax=None):
    """Draw an image grid on ``ax``."""
    ax = ax or _plt().subplots(figsize=(5, 5))[1]
    g = image_grid(images, nrow)
    ax.imshow(
        g[..., 0] if g.shape[-1] == 1 else g, cmap="gray", vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def _smooth(y, window: int):
    y = np.asarray(y, dtype=float)
    if window <= 1 or len(y) < window:
        return y
    kernel = np.ones(window) / window
    return np.convolve(np.pad(y, (window - 1, 0), mode="edge"), kernel, mode="valid")


def plot_history(history, axes=None, smooth: int | None = None):
    """Two panels: the losses, and D(x) / D(G(z)) (probabilities), against the step."""
    if axes is None:
        axes = _plt().subplots(1, 2, figsize=(11, 3.5))[1]
    steps = np.asarray(history.step)
    window = smooth if smooth is not None else max(1, len(steps) // 50)
    ax1, ax2 = axes
    ax1.plot(steps, _smooth(history.loss_d, window), label="D loss")
    ax1.plot(steps, _smooth(history.loss_g, window), label="G loss")
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(steps, _smooth(history.d_real, window), label="D(x), real")
    ax2.plot(steps, _smooth(history.d_fake, window), label="D(G(z)), fake")
    ax2.axhline(0.5, color="gray", lw=0.8, ls="--")
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("step")
    ax2.set_ylabel("discriminator output")
    ax2.legend()
    return axes


def animate_samples(history, nrow: int | None = None, interval: int = 400):
    """The fixed-noise grid over training as an HTML/JS animation (plays in the HTML
    book without a kernel). Returns an ``IPython.display.HTML`` object."""
    # IPython comes with Jupyter, not with dcgan_lib: needed only where an animation shows
    from IPython.display import HTML
    from matplotlib import animation

    plt = _plt()
    if not history.samples:
        raise ValueError("the history holds no sample grids; train with sample_every > 0")
    fig, ax = plt.subplots(figsize=(4.5, 4.8))
    first = image_grid(history.samples[0], nrow)
    im = ax.imshow(first[..., 0] if first.shape[-1] == 1 else first, cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    title = ax.set_title(f"step {history.sample_steps[0]}")

    def frame(i):
        g = image_grid(history.samples[i], nrow)
        im.set_data(g[..., 0] if g.shape[-1] == 1 else g)
        title.set_text(f"step {history.sample_steps[i]}")
        return im, title

    anim = animation.FuncAnimation(
        fig, frame, frames=len(history.samples), interval=interval, blit=False
    )
    steps = history.sample_steps
    alt = f"Animation: the fixed-noise samples from step {steps[0]} to step {steps[-1]}"
    html = _offline_jshtml(anim.to_jshtml(default_mode="once"))
    html = re.sub(r'<img id="(_anim_img\w+)"', rf'<img id="\1" alt="{alt}"', html)  # described
    plt.close(fig)
    return HTML(html)


# matplotlib's player draws its buttons with Font Awesome icons fetched from a CDN; the
# book must work offline and load nothing from outside, so the icons become characters.
_ICONS = {
    "minus": "\u2212",
    "fast-backward": "|\u25c0",
    "step-backward": "\u25c1",
    "play fa-flip-horizontal": "\u25c0",
    "pause": "\u275a\u275a",
    "play": "\u25b6",
    "step-forward": "\u25b7",
    "fast-forward": "\u25b6|",
    "plus": "+",
}  # in every common font


def _offline_jshtml(html: str) -> str:
    """Remove the external stylesheet from a ``to_jshtml`` player and draw its buttons
    with plain Unicode characters."""
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", html)
    return re.sub(
        r'<i class="fa fa-([a-z -]+)"></i>', lambda m: _ICONS.get(m.group(1), m.group(1)), html
    )


def plot_points(
    samples, real=None, centres=None, ax=None, title: str | None = None, lim: float | None = None
):
    """Scatter 2-D samples (orange) over real data (blue) and mixture centres (crosses)."""
    ax = ax or _plt().subplots(figsize=(4, 4))[1]
    if real is not None:
        r = torch.as_tensor(real).cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, alpha=0.3, color="tab:blue", label="data")
    s = torch.as_tensor(samples).detach().cpu().numpy()
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.5, color="tab:orange", label="generated")
    if centres is not None:
        c = torch.as_tensor(centres).cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="black", s=30, label="modes")
    return _square(ax, lim, title)


def _square(ax, lim, title):
    """Equal axes on [-lim, lim]^2 (when lim is given) and an optional title."""
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def plot_decision_surface(
    D,
    lim: float,
    ax=None,
    samples=None,
    real=None,
    centres=None,
    resolution: int = 200,
    levels: int = 11,
    colorbar: bool = True,
    title: str | None = None,
):
    """A 2-D discriminator's belief D(x) = sigmoid(logit) on the square [-lim, lim]^2, as
    filled contours (dark: "real", light: "fake"), with ``plot_points`` on top.

    ``D`` maps points (n, 2) to logits (n,); it is evaluated on a ``resolution`` x
    ``resolution`` grid on its own device, in eval mode, and left in the mode it was in.
    """
    ax = ax or _plt().subplots(figsize=(4.5, 4))[1]
    param = next(D.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    ticks = torch.linspace(-lim, lim, resolution)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")  # (R, R) each
    points = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (R*R, 2)
    was_training = D.training
    D.eval()
    try:
        prob = torch.sigmoid(D(points.to(device)).float()).cpu().view(resolution, resolution)
    finally:
        D.train(was_training)
    surface = ax.contourf(
        gx.numpy(),
        gy.numpy(),
        prob.numpy(),
        levels=np.linspace(0, 1, levels),
        cmap="Greys",
        alpha=0.8,
    )
    if colorbar:
        ax.figure.colorbar(surface, ax=ax, label="D(x)", ticks=[0, 0.25, 0.5, 0.75, 1])
    if samples is not None or real is not None or centres is not None:
        plot_points(samples if samples is not None else torch.empty(0, 2), real, centres, ax=ax)
    return _square(ax, lim, title)


def plot_optimal_discriminator(game, ax=None):
    """Draw a one-dimensional game (``dcgan_lib.gaussian_game(mu, sigma)``): p_data, p_g
    and the optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) (right axis),
    with C(G) = max_D V(D, G) in the title. Returns ``ax``."""
    x, log_pd, log_pg, log_d = game.x, game.log_p_data, game.log_p_g, game.log_d_star
    mu, sigma, data_mu, data_sigma, value = (
        game.mu,
        game.sigma,
        game.data_mu,
        game.data_sigma,
        game.c_of_g,
    )
    ax = ax or _plt().subplots(figsize=(6, 3.2))[1]
    shown = (x >= min(data_mu - 4 * data_sigma, mu - 4 * sigma)) & (
        x <= max(data_mu + 4 * data_sigma, mu + 4 * sigma)
    )
    xs = x[shown]
    ax.fill_between(xs, np.exp(log_pd[shown]), color="tab:blue", alpha=0.25)
    ax.plot(xs, np.exp(log_pd[shown]), color="tab:blue", label=r"$p_\mathrm{data}$")
    ax.fill_between(xs, np.exp(log_pg[shown]), color="tab:orange", alpha=0.25)
    ax.plot(xs, np.exp(log_pg[shown]), color="tab:orange", label=r"$p_g$")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    twin = ax.twinx()
    twin.plot(xs, np.exp(log_d[shown]), color="black", lw=1.5, label=r"$D^*(x)$")
    twin.axhline(0.5, color="gray", lw=0.8, ls="--")
    twin.set_ylim(0, 1.02)
    twin.set_ylabel(r"$D^*(x)$")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    twin.legend(
        lines[0] + more[0], lines[1] + more[1], loc="best", fontsize="small", framealpha=0.9
    )
    ax.set_title(
        rf"$\mu_g$={mu:.2f}, $\sigma_g$={sigma:.2f}:  C(G) = {value:.3f}  "
        rf"($-\log 4$ = {-math.log(4):.3f})",
        fontsize="medium",
    )
    return ax


# ---------------------------------------------------------------------------------------
# Tables


class Table(str):
    """A Markdown table: Jupyter and the book display it as a table, ``print`` as text."""

    def _repr_markdown_(self) -> str:
        return str(self)


def _cell(value, fmt) -> str:
    if value is None:
        return "-"
    if callable(fmt):
        return str(fmt(value))
    if fmt:
        return format(value, fmt)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(rows, columns=None) -> Table:
    """A Markdown table of ``rows``: a list of dicts, or ``{label: dict}``, whose labels
    make the first column (titled by ``columns[0]``, a string; the other columns follow).

    ``columns``: keys, or ``(key, title)`` / ``(key, title, format)`` tuples, where format
    is a format spec (``".2f"``, ``","``) or a callable; default: the first row's keys.
    Floats show 3 decimals unless told otherwise; a missing value shows "-". Columns
    whose values are all numbers are right-aligned.
    """
    if isinstance(rows, dict):  # {label: row}: the label is column 0, titled columns[0]
        title = columns[0] if columns else ""
        rows = [{"\0label": name, **row} for name, row in rows.items()]
        rest = list(columns[1:]) if columns else [k for k in rows[0] if k != "\0label"]
        columns = [("\0label", title), *rest]
    rows = list(rows)
    if not rows:
        raise ValueError("table() needs at least one row")
    spec = []
    for c in columns or list(rows[0]):
        c = (c, c) if isinstance(c, str) else tuple(c)
        spec.append((c[0], c[1], c[2] if len(c) > 2 else None))
    lines = ["| " + " | ".join(title for _, title, _ in spec) + " |"]
    align = []
    for key, _, _ in spec:
        values = [r.get(key) for r in rows if r.get(key) is not None]
        numeric = values and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        )
        align.append(" ---: " if numeric else " --- ")
    lines.append("|" + "|".join(align) + "|")
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(k), f) for k, _, f in spec) + " |")
    return Table("\n".join(lines))
