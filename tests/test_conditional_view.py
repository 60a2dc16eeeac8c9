"""The class selector (dcgan_lib/conditional_view.py): its static twin and its widget draw
the same images for a (class, seed), and bad input gets a one-line error."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dcgan_lib import (  # noqa: E402
    ConditionalGenerator,
    class_noise,
    class_samples_figure,
    class_selector,
    draw_class_samples,
)

NAMES = ["zero", "one", "two"]


def tiny():
    torch.manual_seed(0)
    return ConditionalGenerator(8, 16, 1, 4, n_classes=3)


def test_same_seed_same_noise_for_every_class_and_the_class_changes_the_image():
    G = tiny()
    assert torch.equal(class_noise(G, 3, 4), class_noise(G, 3, 4))
    assert not torch.equal(class_noise(G, 3, 4), class_noise(G, 4, 4))
    G.train()
    a = draw_class_samples(G, 0, 3, n=4, class_names=NAMES)
    b = draw_class_samples(G, 1, 3, n=4)
    assert G.training  # mode restored
    assert a.shape == (4, 1, 16, 16) and not torch.allclose(a, b)
    plt.close("all")


def test_figure_and_widget_draw_the_same_images():
    G = tiny()
    fig = class_samples_figure(G, [(2, 5), (0, 1)], n=3, class_names=NAMES)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "two, noise seed 5"
    widget = class_selector(G, NAMES, n=3, max_seed=9)
    widget.children[0].value, widget.children[1].value = 2, 5
    assert torch.equal(widget.result, draw_class_samples(G, 2, 5, n=3))
    plt.close("all")


def test_bad_input_gets_one_line_errors():
    G = tiny()
    for bad in (3, -1, 1.0):
        with pytest.raises(ValueError, match=r"class index in \[0, 3\)"):
            draw_class_samples(G, bad, 0)
    with pytest.raises(ValueError, match="positive integer"):
        class_noise(G, 0, 0)
    with pytest.raises(ValueError, match="at least one"):
        class_samples_figure(G, [])
    plt.close("all")
