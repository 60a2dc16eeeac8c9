"""Checks of the convolutional building blocks (notebooks/04_conv_building_blocks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import CheckFailed, _call, _close, _expect, _finite, _passed, _shape, _tensor


def check_upsampling_layer(make_layer) -> bool:
    """`make_layer(in_channels, out_channels, factor)` returns an ``nn.ConvTranspose2d``
    that maps every (B, in, s, s) to (B, out, factor*s, factor*s), with a kernel size that
    is a multiple of the stride (so every output pixel gets the same number of
    contributions: no checkerboard)."""
    for factor in (2, 3, 4):
        layer = _call(make_layer, 3, 5, factor, what="make_layer")
        what = f"make_layer(3, 5, factor={factor})"
        _expect(
            isinstance(layer, nn.ConvTranspose2d),
            f"{what} should return an nn.ConvTranspose2d (the generator's upsampling layer), "
            f"got {type(layer).__name__}",
        )
        _expect(
            (layer.in_channels, layer.out_channels) == (3, 5),
            f"{what} should have 3 input and 5 output channels, got "
            f"{layer.in_channels} and {layer.out_channels}",
        )
        for s in (1, 3, 8):
            with torch.no_grad():
                y = layer(torch.zeros(2, 3, s, s))
            _expect(
                tuple(y.shape) == (2, 5, factor * s, factor * s),
                f"{what} should map a {s}x{s} input to {factor * s}x{factor * s}, got "
                f"{y.shape[-2]}x{y.shape[-1]}; the output size is "
                "(i - 1) * stride - 2 * padding + kernel_size + output_padding",
            )
        (k, _), (stride, _) = layer.kernel_size, layer.stride
        _expect(
            k % stride == 0,
            f"{what} has kernel_size {k} and stride {stride}: {k} is not a multiple of {stride}, "
            "so neighbouring output pixels receive different numbers of contributions "
            "(the checkerboard pattern)",
        )
        overlap = F.conv_transpose2d(
            torch.ones(1, 1, 12, 12),
            torch.ones(1, 1, *layer.kernel_size),
            stride=layer.stride,
            padding=layer.padding,
            output_padding=layer.output_padding,
            dilation=layer.dilation,
        )[0, 0]
        inner = overlap[k:-k, k:-k]
        _expect(
            inner.numel() > 0 and float(inner.max() - inner.min()) == 0.0,
            f"{what}: away from the border, output pixels receive between "
            f"{float(inner.min()):g} and {float(inner.max()):g} contributions; "
            "they should all receive the same number",
        )
    return _passed("upsampling layer")


def _batch_norm_mistake(got, x, gamma, beta, eps: float, what: str) -> None:
    """Raise CheckFailed naming the mistake when `got` matches a usual wrong BatchNorm."""
    c, h = x.shape[1], x.shape[-1]

    def wrong(dims, unbiased=False):
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
        return (x - mean) / torch.sqrt(var + eps) * gamma.view(1, c, 1, 1) + beta.view(1, c, 1, 1)

    def near(a):
        return torch.allclose(got.double(), a.double(), atol=1e-4, rtol=1e-4)

    if near(wrong((0, 2, 3), unbiased=True)):
        raise CheckFailed(
            f"{what}: you used the unbiased variance (divided by m - 1); "
            "BatchNorm normalises with the biased one (divide by m), e.g. "
            "x.var(dim=..., unbiased=False)"
        )
    if h > 1 and near(wrong((2, 3))):
        raise CheckFailed(
            f"{what}: each image is normalised on its own (over H and W only); "
            "BatchNorm takes the statistics over the batch too: dims (0, 2, 3)"
        )
    if near(wrong((1, 2, 3))) or near(wrong((0, 1, 2, 3))):
        raise CheckFailed(
            f"{what}: the statistics mix the channels; BatchNorm keeps one mean and "
            "one variance per channel, over dims (0, 2, 3)"
        )
    if near(F.batch_norm(x, None, None, None, None, training=True, eps=eps)):
        raise CheckFailed(
            f"{what}: the normalisation is right but gamma and beta are not applied: "
            "multiply by gamma and add beta, each viewed as (1, C, 1, 1)"
        )


def check_batch_norm(batch_norm) -> bool:
    """`batch_norm(x, gamma, beta, eps)` is BatchNorm2d in training mode on x (N, C, H, W):
    each channel normalised with the mean and (biased) variance over N, H and W, then
    scaled by gamma (C,) and shifted by beta (C,)."""
    g = torch.Generator().manual_seed(0)
    for n, c, h in ((4, 3, 5), (16, 2, 1)):
        scale = torch.tensor([0.5, 3.0, 1.0][:c]).view(1, c, 1, 1)
        shift = torch.tensor([2.0, -1.0, 5.0][:c]).view(1, c, 1, 1)
        x = torch.randn(n, c, h, h, generator=g) * scale + shift
        gamma, beta = 1 + torch.rand(c, generator=g), torch.randn(c, generator=g)
        eps = 1e-5
        got = _tensor(
            _call(batch_norm, x.clone(), gamma.clone(), beta.clone(), eps, what="batch_norm"),
            "batch_norm's result",
        )
        what = f"batch_norm on a batch of shape {tuple(x.shape)}"
        _shape(got, x.shape, what)
        _finite(got, what)
        expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        if not torch.allclose(got.double(), expected.double(), atol=1e-4, rtol=1e-4):
            _batch_norm_mistake(got, x, gamma, beta, eps, what)
            _close(got, expected, what, atol=1e-4, rtol=1e-4)
    return _passed("batch_norm")
