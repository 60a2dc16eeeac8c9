"""The BatchNorm ablation pair: BatchNorm exactly where the guideline leaves it out."""

import pytest
import torch
from torch import nn

from dcgan_lib import (
    InputBatchNormDiscriminator,
    OutputBatchNormGenerator,
    load_model,
    make_ablation_pair,
    make_pair,
    save_checkpoint,
)
from dcgan_lib.checkpoint import pack_model


def test_batchnorm_at_the_two_places_and_nowhere_else():
    G, D = make_ablation_pair("everywhere", (1, 32, 32), 16, width=8, seed=0)
    G0, D0 = make_pair("dcgan", (1, 32, 32), 16, width=8, seed=0)
    assert isinstance(G.net[-2], nn.BatchNorm2d) and isinstance(G.net[-1], nn.Tanh)
    assert isinstance(D.net[0], nn.Conv2d) and isinstance(D.net[1], nn.BatchNorm2d)
    assert len(G.net) == len(G0.net) + 1 and len(D.net) == len(D0.net) + 1
    # the same seed gives the same convolution weights as the guideline pair
    convs = (nn.Conv2d, nn.ConvTranspose2d)
    for a, b in ((G, G0), (D, D0)):
        wa = [m.weight for m in a.modules() if isinstance(m, convs)]
        wb = [m.weight for m in b.modules() if isinstance(m, convs)]
        assert all(torch.equal(x, y) for x, y in zip(wa, wb, strict=True))
    assert G(torch.randn(4, 16)).shape == (4, 1, 32, 32)
    assert D(torch.randn(4, 1, 32, 32)).shape == (4,)


def test_d_input_only_and_guideline():
    G, D = make_ablation_pair("d_input", (3, 16, 16), 8, width=4)
    assert not isinstance(G, OutputBatchNormGenerator)
    assert isinstance(D, InputBatchNormDiscriminator)
    G, D = make_ablation_pair("guideline", (3, 16, 16), 8, width=4)
    assert type(G).__name__ == "Generator" and type(D).__name__ == "Discriminator"


def test_rebuilt_from_a_checkpoint(tmp_path):
    G, D = make_ablation_pair("everywhere", (1, 16, 16), 8, width=4, seed=1)
    path = tmp_path / "g.pt"
    save_checkpoint(path, {"generator": pack_model(G), "discriminator": pack_model(D)})
    G2 = load_model(path, "generator")
    assert type(G2) is OutputBatchNormGenerator and G2.config == G.config


def test_bad_names():
    with pytest.raises(ValueError, match="batchnorm must be one of"):
        make_ablation_pair("all")
    with pytest.raises(ValueError, match="image_shape"):
        make_ablation_pair("guideline", (2,))
