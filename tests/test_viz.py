"""The picture helpers: grid layout and value mapping, files written, modes restored."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dcgan_lib import (  # noqa: E402
    History,
    MLPDiscriminator,
    animate_samples,
    image_grid,
    plot_decision_surface,
    plot_history,
    save_grid,
)


def test_image_grid_layout_and_range():
    images = torch.full((6, 1, 4, 4), -1.0)
    images[0] = 1.0
    g = image_grid(images, nrow=3, padding=1)
    assert g.shape == (2 * 5 + 1, 3 * 5 + 1, 1)
    assert g[1:5, 1:5].min() == 1.0 and g[1:5, 6:10].max() == 0.0  # [-1, 1] -> [0, 1]
    u8 = image_grid(torch.full((2, 3, 4, 4), 255, dtype=torch.uint8), nrow=2)
    assert u8.shape[-1] == 3 and np.allclose(u8, 1.0)


def test_save_grid_writes_png(tmp_path):
    from PIL import Image

    save_grid(torch.rand(4, 3, 8, 8) * 2 - 1, tmp_path / "g.png", nrow=2)
    assert Image.open(tmp_path / "g.png").size == (2 * 10 + 2, 2 * 10 + 2)


def test_history_plot_and_animation():
    h = History(
        step=[1, 2, 3],
        loss_d=[1.3, 1.2, 1.1],
        loss_g=[0.7, 0.8, 0.9],
        d_real=[0.5, 0.6, 0.7],
        d_fake=[0.5, 0.4, 0.3],
        sample_steps=[0, 3],
        samples=[
            torch.zeros(4, 1, 8, 8, dtype=torch.uint8),
            torch.full((4, 1, 8, 8), 255, dtype=torch.uint8),
        ],
    )
    ax1, ax2 = plot_history(h)
    assert len(ax1.lines) == 2 and len(ax2.lines) == 3
    html = animate_samples(h).data
    assert "step 3" in html or "<img" in html or "frames" in html
    # the player must load nothing from outside the page (the book works offline)
    assert "http://" not in html and "https://" not in html and 'class="fa ' not in html
    assert "\u25b6" in html  # the play button is drawn with a character


def test_decision_surface_restores_training_mode():
    D = MLPDiscriminator((2,), (8,)).train()
    ax = plot_decision_surface(D, 2.0, samples=torch.randn(10, 2), resolution=20)
    assert D.training and ax.get_xlim() == (-2.0, 2.0)
