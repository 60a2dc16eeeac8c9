"""The DCGAN authors' pair (dcgan_lib/authors.py) against their Theano code's shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dcgan_lib import (
    AuthorsDiscriminator,
    AuthorsGenerator,
    Generator,
    count_parameters,
    draw_latent,
    load_generator,
    make_pair,
    sample_generator,
    save_checkpoint,
)
from dcgan_lib.checkpoint import pack_model


def test_the_faces_model_of_the_authors_code():
    """64x64x3 at width 128: dense 100 -> 16*1024 (their gw is (nz, ngf*8*4*4)), BatchNorm
    over those units, 5x5 kernels (gw2 is (ngf*8, ngf*4, 5, 5)), D's read-out dense
    (dwy is (ndf*8*4*4, 1)); no biases anywhere."""
    G, D = AuthorsGenerator(100, 64, 3, 128), AuthorsDiscriminator(64, 3, 128)
    assert tuple(G.project[0].weight.shape) == (16 * 1024, 100)
    assert isinstance(G.project[1], nn.BatchNorm1d) and G.project[1].num_features == 16 * 1024
    kernels = [m.kernel_size for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert kernels == [(5, 5)] * 4
    assert tuple(D.read_out.weight.shape) == (1, 1024 * 16)
    assert all(
        m.bias is None
        for m in [*G.modules(), *D.modules()]
        if hasattr(m, "bias") and not isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)
    )
    z = draw_latent(G, 4)
    assert z.min() >= -1 and z.max() <= 1 and z.abs().max() > 0.5  # U(-1, 1), not N(0, 1)
    x = G(z)
    assert x.shape == (4, 3, 64, 64) and x.abs().max() <= 1
    assert D(x).shape == (4,)
    # the same feature maps as the book's Generator, more weights (5x5 kernels)
    assert count_parameters(G) > count_parameters(Generator(100, 64, 3, 128))


@pytest.mark.parametrize("size", [16, 32, 128])
def test_every_size_and_make_pair(size):
    G, D = make_pair("authors", (1, size, size), latent_dim=8, width=4, seed=0)
    assert isinstance(G, AuthorsGenerator) and isinstance(D, AuthorsDiscriminator)
    out = G(draw_latent(G, 2))
    assert out.shape == (2, 1, size, size) and D(out).shape == (2,)


def test_uniform_noise_through_sampling_and_checkpoints(tmp_path):
    G, _ = make_pair("authors", (1, 16, 16), latent_dim=8, width=4, seed=0)
    a = sample_generator(G, 3, seed=1)
    z = torch.rand(3, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert torch.allclose(a, sample_generator(G, z=z))
    save_checkpoint(tmp_path / "g.pt", {"generator": pack_model(G)})
    again = load_generator(tmp_path / "g.pt")
    assert isinstance(again, AuthorsGenerator)
    assert torch.allclose(sample_generator(again, 3, seed=1), a)


def test_wrong_images_say_so():
    D = AuthorsDiscriminator(16, 1, 4)
    with pytest.raises(ValueError, match=r"takes images of shape \(B, 1, 16, 16\)"):
        D(torch.zeros(2, 3, 16, 16))
