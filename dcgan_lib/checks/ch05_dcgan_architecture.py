"""Checks of the DCGAN architecture (notebooks/05_dcgan_architecture)."""

from __future__ import annotations

import torch
from torch import nn

from ..models import Generator
from ..tracing import LayerTrace, trace_layers, trace_stages
from ._common import CheckFailed, _call, _expect, _module, _passed, _shape

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def _generator_stages(image_size: int, width: int, channels: int) -> list[tuple[int, int]]:
    """(channels, size) after each transposed convolution of the library's Generator."""
    G = Generator(latent_dim=2, image_size=image_size, channels=channels, width=width)
    return [(s["shape"][0], s["shape"][-1]) for s in trace_stages(G, torch.zeros(1, 2))]


def check_generator_stages(generator_stages) -> bool:
    """`generator_stages(image_size, width, channels)` lists the (channels, size) of each
    stage of a DCGAN generator, from the 4x4 projection to the output image, e.g.
    ``generator_stages(64, 128, 3) == [(1024, 4), (512, 8), (256, 16), (128, 32), (3, 64)]``."""
    cases = ((64, 128, 3), (64, 64, 3), (32, 32, 1), (16, 8, 1), (128, 16, 3))
    for image_size, width, channels in cases:
        what = f"generator_stages({image_size}, {width}, {channels})"
        got = _call(generator_stages, image_size, width, channels, what="generator_stages")
        _expect(
            isinstance(got, (list, tuple)),
            f"{what} should return a list of (channels, size) pairs, got {type(got).__name__}",
        )
        try:
            got = [(int(c), int(s)) for c, s in got]
        except (TypeError, ValueError):
            raise CheckFailed(
                f"{what} should return a list of (channels, size) pairs, got {got!r}"
            ) from None
        expected = _generator_stages(image_size, width, channels)
        _expect(
            len(got) == len(expected),
            f"{what} has {len(got)} stages, expected {len(expected)}: one 4x4 projection, then "
            f"one stage per doubling up to {image_size}x{image_size}",
        )
        for i, (g_, e) in enumerate(zip(got, expected, strict=True)):
            _expect(
                g_[1] == e[1], f"{what}: stage {i} should be {e[1]}x{e[1]}, got {g_[1]}x{g_[1]}"
            )
            if i == len(expected) - 1:
                hint = " (the output stage has one channel per image channel)"
            else:
                hint = (
                    " (width is the channel count of the last hidden stage; each stage nearer "
                    "4x4 doubles it)"
                )
            _expect(
                g_[0] == e[0],
                f"{what}: stage {i} ({e[1]}x{e[1]}) should have {e[0]} channels, got {g_[0]}{hint}",
            )
    return _passed("generator stages")


def _rows_of(model: nn.Module, rows: list[LayerTrace], kinds) -> list[LayerTrace]:
    """The traced rows whose layer is one of `kinds`, in the order the forward pass ran them."""
    modules = dict(model.named_modules())
    return [row for row in rows if isinstance(modules[row.name], kinds)]


def _after_last_convolution(model: nn.Module, rows: list[LayerTrace]) -> list[LayerTrace]:
    """The traced rows after the last convolution that ran: the network's output layers."""
    convs = {row.name for row in _rows_of(model, rows, (nn.Conv2d, nn.ConvTranspose2d))}
    last = max((i for i, row in enumerate(rows) if row.name in convs), default=-1)
    return rows[last + 1 :]


def _forward(G: nn.Module, D: nn.Module, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """G's images for two noise vectors and D's logits for them, in eval mode without
    gradients; both networks' train/eval modes are restored."""
    was_training = G.training, D.training
    try:
        G.eval(), D.eval()
        with torch.no_grad():
            device = next(G.parameters()).device
            images = G(torch.randn(2, latent_dim, device=device))
            logits = D(images.to(next(D.parameters()).device))
    finally:
        G.train(was_training[0]), D.train(was_training[1])
    return images, logits


def check_dcgan_pair(
    G, D, image_size: int = 128, channels: int = 3, top_channels: int = 1024
) -> bool:
    """A DCGAN generator/discriminator pair for `image_size` images with `channels`
    channels whose 4x4 stage has `top_channels` channels (G's first stage, D's last), that
    follows the DCGAN guidelines: no BatchNorm on G's output, and D returns logits."""
    for net, name in ((G, "G"), (D, "D")):
        _module(net, name)
    latent_dim = getattr(G, "latent_dim", None)
    _expect(isinstance(latent_dim, int), "G should be a dcgan_lib Generator (it has no latent_dim)")
    _expect(
        any(isinstance(m, nn.ConvTranspose2d) for m in G.modules()),
        "G has no nn.ConvTranspose2d layer: build it with dcgan_lib.Generator",
    )
    _expect(
        sum(isinstance(m, nn.Conv2d) for m in D.modules()) >= 2,
        "D has fewer than two nn.Conv2d layers: build it with dcgan_lib.Discriminator",
    )
    images, logits = _forward(G, D, latent_dim)
    _shape(images, (2, channels, image_size, image_size), "G's images")
    _shape(logits, (2,), "D's logits (one per image)")
    g_rows = trace_layers(G, torch.zeros(1, latent_dim, device=next(G.parameters()).device))
    d_rows = trace_layers(D, images[:1].to(next(D.parameters()).device))
    g_first = _rows_of(G, g_rows, nn.ConvTranspose2d)[0].output_shape
    d_top = _rows_of(D, d_rows, nn.Conv2d)[-2].output_shape
    _expect(
        g_first == (top_channels, 4, 4),
        f"G's first stage should be {top_channels}x4x4, got {'x'.join(map(str, g_first))}: "
        "choose width so that width * 2**(stages - 1) equals the 4x4 channel count",
    )
    _expect(
        d_top[0] == top_channels and d_top[1:] == (4, 4),
        f"D's last hidden stage should be {top_channels}x4x4, got {'x'.join(map(str, d_top))}",
    )
    g_tail = _rows_of(G, _after_last_convolution(G, g_rows), _BATCH_NORMS)
    _expect(
        not g_tail,
        f"G has a {g_tail[0].layer if g_tail else 'BatchNorm'} on its output (after its last "
        "convolution): the DCGAN guidelines keep BatchNorm off the generator's output layer, "
        "so end G with ConvTranspose2d -> Tanh",
    )
    _expect(
        not _rows_of(D, _after_last_convolution(D, d_rows), nn.Sigmoid),
        "D ends in a Sigmoid: a DCGAN discriminator returns raw logits, and the losses apply "
        "the sigmoid in a numerically stable way",
    )
    return _passed(f"DCGAN pair for {image_size}x{image_size}x{channels}")
