"""The BatchNorm ablation pair: BatchNorm exactly where the guideline leaves it out."""

import pytest
import torch
from torch import nn

from dcgan_lib import (
    ABLATIONS,
    AblatedDiscriminator,
    AblatedGenerator,
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
    with pytest.raises(ValueError, match="ablation must be one of"):
        make_ablation_pair("all")
    with pytest.raises(ValueError, match="image_shape"):
        make_ablation_pair("guideline", (2,))


def test_every_switch_at_its_default_is_the_book_pair():
    torch.manual_seed(3)
    G, D = AblatedGenerator(100, 32, 1, 8), AblatedDiscriminator(32, 1, 8)
    G0, D0 = make_pair("dcgan", (1, 32, 32), 100, width=8, seed=3)
    for a, b in ((G, G0), (D, D0)):
        assert str(a.net) == str(b.net)
        sa, sb = a.state_dict(), b.state_dict()
        assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", list(ABLATIONS))
@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 32, 32)])
def test_every_ablation_builds_and_round_trips(name, shape, tmp_path):
    G, D = make_ablation_pair(name, shape, 8, width=4, seed=0)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, *shape) and D(x).shape == (3,)
    path = tmp_path / "pair.pt"
    save_checkpoint(path, {"generator": pack_model(G), "discriminator": pack_model(D)})
    G2, D2 = load_model(path, "generator"), load_model(path, "discriminator")
    assert G2.config == G.config and D2.config == D.config
    assert torch.equal(G2.eval()(torch.ones(1, 8)), G.eval()(torch.ones(1, 8)))


def test_each_switch_does_what_it_says():
    def kinds(model, kind):
        return [m for m in model.modules() if isinstance(m, kind)]

    bn = (nn.BatchNorm1d, nn.BatchNorm2d)
    G, D = make_ablation_pair("no_batchnorm", (1, 32, 32), 8, width=4)
    assert not kinds(G, bn) and not kinds(D, bn)
    assert all(c.bias is not None for c in kinds(G, nn.ConvTranspose2d)[:-1])  # none removed
    G, D = make_ablation_pair("batchnorm_everywhere", (1, 32, 32), 8, width=4)
    assert isinstance(G.net[-2], nn.BatchNorm2d) and isinstance(D.net[1], nn.BatchNorm2d)
    G, D = make_ablation_pair("pooling", (1, 32, 32), 8, width=4)
    assert len(kinds(D, nn.MaxPool2d)) == 3 and len(kinds(G, nn.Upsample)) == 3
    assert all(c.stride == (1, 1) for c in kinds(G, nn.ConvTranspose2d) + kinds(D, nn.Conv2d))
    G, D = make_ablation_pair("fc_hidden", (1, 32, 32), 8, width=4)
    assert len(kinds(G, nn.Linear)) == 1 and len(kinds(D, nn.Linear)) == 2
    G, D = make_ablation_pair("relu_d", (1, 32, 32), 8, width=4)
    assert not kinds(D, nn.LeakyReLU) and kinds(D, nn.ReLU)
    G, D = make_ablation_pair("no_tanh", (1, 32, 32), 8, width=4)
    assert not kinds(G, nn.Tanh)
    G, D = make_ablation_pair("kernel_5", (1, 32, 32), 8, width=4)
    assert [c.kernel_size for c in kinds(D, nn.Conv2d)] == [(5, 5)] * 3 + [(4, 4)]
    G, D = make_ablation_pair("default_init", (1, 32, 32), 8, width=4, seed=0)
    w = kinds(G, nn.ConvTranspose2d)[1].weight
    assert w.std() > 0.05  # PyTorch's default, not N(0, 0.02)
    assert kinds(G, nn.BatchNorm2d)[0].weight.eq(1).all()


def test_bad_switches():
    with pytest.raises(ValueError, match="kernel must be one of 3, 4, 5, got 6"):
        AblatedGenerator(8, 16, 1, 4, kernel=6)
    with pytest.raises(ValueError, match="resample must be one of"):
        AblatedDiscriminator(16, 1, 4, resample="avg")
    with pytest.raises(ValueError, match="fc_hidden must be 0"):
        AblatedDiscriminator(16, 1, 4, fc_hidden=-1)
