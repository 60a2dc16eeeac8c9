"""Shapes, the paper's architecture traced layer by layer, init statistics, bad sizes."""

import pytest
import torch
from torch import nn

from dcgan_lib import (
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    count_parameters,
    model_from_config,
    trace_layers,
)


def stage_shapes(model, x, kind):
    """Output shape after every layer of type ``kind``, as the library's tracer records it."""
    return [t.output_shape for t in trace_layers(model, x) if t.layer == kind.__name__]


def test_generator_is_the_papers_at_width_128():
    G = Generator(latent_dim=100, image_size=64, channels=3, width=128)
    shapes = stage_shapes(G, torch.randn(2, 100, 1, 1), nn.ConvTranspose2d)
    assert shapes == [(1024, 4, 4), (512, 8, 8), (256, 16, 16), (128, 32, 32), (3, 64, 64)]
    assert isinstance(G.net[-1], nn.Tanh)


def test_pytorch_tutorial_variant_is_width_64():
    G = Generator(100, 64, 3, width=64)
    assert stage_shapes(G, torch.randn(2, 100, 1, 1), nn.ConvTranspose2d)[0] == (512, 4, 4)
    D = Discriminator(64, 3, width=64)
    assert stage_shapes(D, torch.randn(2, 3, 64, 64), nn.Conv2d) == [
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
        (512, 4, 4),
        (1, 1, 1),
    ]


def test_discriminator_mirrors_generator():
    D = Discriminator(64, 3, 128)
    assert stage_shapes(D, torch.randn(2, 3, 64, 64), nn.Conv2d) == [
        (128, 32, 32),
        (256, 16, 16),
        (512, 8, 8),
        (1024, 4, 4),
        (1, 1, 1),
    ]
    assert D(torch.randn(5, 3, 64, 64)).shape == (5,)


def test_batchnorm_everywhere_but_g_output_and_d_input():
    G, D = Generator(100, 32, 1, 16), Discriminator(32, 1, 16)
    g_layers, d_layers = list(G.net), list(D.net)
    # every transposed conv but the last is followed by BatchNorm; the last by Tanh
    for i, layer in enumerate(g_layers):
        if isinstance(layer, nn.ConvTranspose2d):
            nxt = g_layers[i + 1]
            assert isinstance(nxt, nn.Tanh if i == len(g_layers) - 2 else nn.BatchNorm2d)
    convs = [i for i, layer in enumerate(d_layers) if isinstance(layer, nn.Conv2d)]
    assert isinstance(d_layers[convs[0] + 1], nn.LeakyReLU)  # input layer: no BatchNorm
    for i in convs[1:-1]:
        assert isinstance(d_layers[i + 1], nn.BatchNorm2d)
    assert convs[-1] == len(d_layers) - 1  # logits: nothing after the last conv
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert not any(
        isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d)) for m in [*G.modules(), *D.modules()]
    )


@pytest.mark.parametrize("size", [16, 32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_power_of_two_size(size, channels):
    G, D = Generator(8, size, channels, 4), Discriminator(size, channels, 4)
    img = G(torch.randn(2, 8))
    assert img.shape == (2, channels, size, size)
    assert img.abs().max() <= 1
    assert D(img).shape == (2,)


@pytest.mark.parametrize("size", [8, 24, 48, 512, "64", 64.0])
def test_bad_size_names_allowed_sizes(size):
    with pytest.raises(ValueError, match="16, 32, 64, 128, 256"):
        Generator(100, size, 3, 8)
    with pytest.raises(ValueError, match="16, 32, 64, 128, 256"):
        Discriminator(size, 3, 8)


def test_bad_widths_and_channels():
    with pytest.raises(ValueError, match="width"):
        Generator(100, 32, 1, 0)
    with pytest.raises(ValueError, match="channels"):
        Discriminator(32, -1, 8)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G, D = Generator(100, 64, 3, 64), Discriminator(64, 3, 64)
    conv_w = torch.cat(
        [
            m.weight.flatten()
            for m in [*G.modules(), *D.modules()]
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        ]
    )
    bn_w = torch.cat(
        [m.weight for m in [*G.modules(), *D.modules()] if isinstance(m, nn.BatchNorm2d)]
    )
    bn_b = torch.cat(
        [m.bias for m in [*G.modules(), *D.modules()] if isinstance(m, nn.BatchNorm2d)]
    )
    assert abs(conv_w.mean().item()) < 1e-3 and abs(conv_w.std().item() - 0.02) < 1e-3
    assert abs(bn_w.mean().item() - 1) < 5e-3 and abs(bn_w.std().item() - 0.02) < 5e-3
    assert bn_b.abs().max().item() == 0


def test_mlp_pair_shapes_and_rebuild():
    G = MLPGenerator(16, (1, 32, 32), (64, 128))
    D = MLPDiscriminator((1, 32, 32), (128, 64))
    img = G(torch.randn(3, 16))
    assert img.shape == (3, 1, 32, 32) and img.abs().max() <= 1
    assert D(img).shape == (3,)
    G2 = MLPGenerator(4, (2,), (32, 32))
    assert G2(torch.randn(5, 4)).shape == (5, 2)
    for m in (G, D, G2, Generator(10, 16, 1, 4)):
        rebuilt = model_from_config(m.config)
        assert type(rebuilt) is type(m) and count_parameters(rebuilt) == count_parameters(m)


def test_mlp_options_are_rebuilt_and_defaults_unchanged():
    """The stronger baseline's options (BatchNorm and LeakyReLU in G, dropout in D) are recorded
    and rebuilt; without them the config, layers and state_dict keys are the plain MLP's, so
    the shipped fully connected checkpoints load as before."""
    plain_g, plain_d = MLPGenerator(8, (1, 16, 16), (32, 32)), MLPDiscriminator((1, 16, 16), (32,))
    assert plain_g.config["kwargs"] == dict(latent_dim=8, output_shape=[1, 16, 16], hidden=[32, 32])
    assert plain_d.config["kwargs"] == dict(input_shape=[1, 16, 16], hidden=[32])
    assert [type(m).__name__ for m in plain_g.net] == [
        *["Linear", "ReLU"] * 2,
        *["Linear", "Tanh"],
    ]
    assert list(plain_d.state_dict()) == [
        "net.0.weight",
        "net.0.bias",
        "net.2.weight",
        "net.2.bias",
    ]
    G = MLPGenerator(8, (1, 16, 16), (32, 32), batchnorm=True, activation="leaky")
    D = MLPDiscriminator((1, 16, 16), (32,), dropout=0.3)
    assert G.config["kwargs"]["batchnorm"] is True and G.config["kwargs"]["activation"] == "leaky"
    assert D.config["kwargs"]["dropout"] == 0.3
    assert sum(isinstance(m, nn.BatchNorm1d) for m in G.net) == 2
    assert sum(isinstance(m, nn.LeakyReLU) for m in G.net) == 2
    assert [m.p for m in D.net if isinstance(m, nn.Dropout)] == [0.3]
    for m in (G, D):
        rebuilt = model_from_config(m.config)
        rebuilt.load_state_dict(m.state_dict())  # the same layers, so the same keys
        assert rebuilt.config == m.config
    G.eval()
    assert G(torch.randn(2, 8)).shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match="activation must be 'relu' or 'leaky'"):
        MLPGenerator(8, (1, 16, 16), (32,), activation="tanh")
    with pytest.raises(ValueError, match="dropout in"):
        MLPDiscriminator((1, 16, 16), (32,), dropout=1.5)


def test_shipped_mlp_checkpoint_loads_unchanged():
    from dcgan_lib import load_generator, pretrained

    G = load_generator(pretrained("compare/mlp_s1.pt"))
    assert set(G.config["kwargs"]) == {"latent_dim", "output_shape", "hidden"}
    assert not any(isinstance(m, nn.BatchNorm1d | nn.Dropout) for m in G.net)


def test_model_from_config_rejects_foreign():
    with pytest.raises(ValueError, match="not a dcgan_lib model"):
        model_from_config({"class": "ResNet", "kwargs": {}})
