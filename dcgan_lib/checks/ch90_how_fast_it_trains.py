"""Checks of the appendix on training speed (notebooks/90_how_fast_it_trains)."""

from __future__ import annotations

import torch
from torch import nn

from ..tracing import count_flops
from ._common import CheckFailed, _call, _expect, _passed


def _layer_cases():
    """(name, layer, input shape without the batch): the strides, paddings and channel
    counts of the book's generators and discriminators, and a grouped convolution."""
    return [
        ("G's first layer, ConvTranspose2d(100, 256, 4, 1, 0) on 100x1x1",
         nn.ConvTranspose2d(100, 256, 4, 1, 0, bias=False), (100, 1, 1)),
        ("a G stage, ConvTranspose2d(256, 128, 4, 2, 1) on 256x4x4",
         nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), (256, 4, 4)),
        ("G's output layer, ConvTranspose2d(64, 3, 4, 2, 1) on 64x32x32",
         nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), (64, 32, 32)),
        ("D's first layer, Conv2d(3, 64, 4, 2, 1) on 3x64x64",
         nn.Conv2d(3, 64, 4, 2, 1, bias=False), (3, 64, 64)),
        ("D's read-out, Conv2d(512, 1, 4, 1, 0) on 512x4x4",
         nn.Conv2d(512, 1, 4, 1, 0, bias=False), (512, 4, 4)),
        ("a 5x5 convolution, Conv2d(16, 32, 5, 2, 2) on 16x16x16",
         nn.Conv2d(16, 32, 5, 2, 2, bias=False), (16, 16, 16)),
    ]  # fmt: skip


def _counted(layer: nn.Module, shape: tuple) -> int:
    """FLOPs of one sample's forward pass, counted by PyTorch from the operations it runs."""
    with torch.no_grad():
        return count_flops(layer, torch.zeros(1, *shape))


def _flops_hint(got: float, want: int, layer: nn.Module, shape: tuple) -> str:
    """What a wrong count says about how it was made; the likeliest slip first."""
    k = layer.kernel_size[0] * layer.kernel_size[1]
    with torch.no_grad():
        out = layer(torch.zeros(1, *shape))[0]
    in_pixels, out_pixels = shape[1] * shape[2], out.shape[1] * out.shape[2]
    c_in, c_out = layer.in_channels, layer.out_channels
    transposed = isinstance(layer, nn.ConvTranspose2d)
    if got == want / 2:
        return "that is the number of multiply-adds: each one is 2 FLOPs (a multiply and an add)"
    if transposed and got == 2 * out_pixels * c_out * c_in * k:
        return (
            "that counts a full kernel for every *output* pixel; a transposed convolution "
            "scatters one kernel-sized patch from every *input* pixel, so an output pixel "
            "receives only part of a kernel (a quarter of it at stride 2)"
        )
    if got == 2 * out_pixels * c_in * k or got == 2 * in_pixels * c_in * k:
        return "one output channel's work only: multiply by the number of output channels"
    if got == 2 * out_pixels * c_out * k or got == 2 * in_pixels * c_out * k:
        return "the sum over input channels is missing: each kernel spans every input channel"
    return "count multiply-adds per output (conv) or per input pixel (transposed), times 2"


def check_layer_flops(layer_flops) -> bool:
    """``layer_flops(layer, input_shape)``: FLOPs of one sample's forward pass through a
    Conv2d or ConvTranspose2d (no bias), ``input_shape`` being (channels, height, width)."""
    for name, layer, shape in _layer_cases():
        want = _counted(layer, shape)
        got = _call(layer_flops, layer, shape, what="layer_flops")
        _expect(
            isinstance(got, int | float) and not isinstance(got, bool),
            f"layer_flops should return a number, got {type(got).__name__}",
        )
        if abs(float(got) - want) > 0.5:
            raise CheckFailed(
                f"{name}: expected {want:,} FLOPs, got {float(got):,.0f}: "
                + _flops_hint(float(got), want, layer, shape)
            )
    return _passed("layer_flops")
