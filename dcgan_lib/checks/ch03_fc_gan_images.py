"""Checks of a fully connected GAN on images (notebooks/03_fc_gan_images)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..models import MLPGenerator, count_parameters
from ._common import CheckFailed, _call, _expect, _finite, _in_range, _module, _passed, _shape


def check_gan_pair(G, D, latent_dim: int, image_shape) -> bool:
    """A generator/discriminator pair for images of shape `image_shape` = (C, H, W): G maps
    noise (n, latent_dim) to images (n, C, H, W) in [-1, 1]; D maps them to n raw logits;
    the generator loss reaches G's weights through D."""
    image_shape = tuple(int(s) for s in image_shape)
    for net, name in ((G, "G"), (D, "D")):
        _module(net, name)
        _expect(any(True for _ in net.parameters()), f"{name} has no parameters to train")
    n = 16
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0))
    z = z.to(next(G.parameters()).device)
    try:
        images = G(z)
    except (RuntimeError, ValueError) as e:
        raise CheckFailed(
            f"G(z) failed for noise of shape {tuple(z.shape)}: {str(e).splitlines()[0]} "
            f"(was G built for latent_dim={latent_dim}?)"
        ) from None
    _expect(torch.is_tensor(images), f"G(z) should return a tensor, got {type(images).__name__}")
    _shape(images.detach(), (n, *image_shape), f"G(z) for noise of shape {tuple(z.shape)}")
    _finite(images.detach(), "G's images")
    _in_range(
        images.detach(),
        -1.0,
        1.0,
        "G's images (the training images are scaled to [-1, 1]; end G in tanh)",
    )
    spread = float(images.detach().flatten(1).std(dim=0).mean())
    _expect(
        spread > 1e-6,
        f"G makes the same image for all {n} noise vectors: its output does not depend on z",
    )
    try:
        logits = D(images.to(next(D.parameters()).device))
    except (RuntimeError, ValueError) as e:
        raise CheckFailed(
            f"D failed on images of shape {tuple(images.shape)}: {str(e).splitlines()[0]} "
            f"(was D built for input shape {image_shape}?)"
        ) from None
    _expect(torch.is_tensor(logits), f"D should return a tensor, got {type(logits).__name__}")
    _shape(logits.detach(), (n,), f"D's output for {n} images (one logit per image)")
    _finite(logits.detach(), "D's logits")
    _expect(
        not any(isinstance(m, nn.Sigmoid) for m in D.modules()),
        "D contains an nn.Sigmoid: the book's discriminators return raw logits (the losses "
        "apply the sigmoid in a numerically stable way)",
    )
    G.zero_grad(set_to_none=True)
    logits.mean().backward()
    reached = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in G.parameters())
    G.zero_grad(set_to_none=True), D.zero_grad(set_to_none=True)
    _expect(
        reached,
        "no gradient reaches G's weights through D(G(z)): do not detach G's output or "
        "wrap G in torch.no_grad()",
    )
    return _passed(f"generator/discriminator pair for {'x'.join(map(str, image_shape))} images")


def _mlp_parameter_hint(got: int, want: int, latent_dim: int, hidden, image_shape) -> str:
    """The usual miscounts of an MLP generator's parameters, named."""
    sizes = (latent_dim, *hidden, math.prod(image_shape))
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if got == weights:
        return "you counted the weights but not the biases: every Linear(a, b) also has b biases"
    if got == weights + sum(sizes[:-1]):
        return "a Linear(a, b) has b biases (one per output), not a"
    if got == want - math.prod(image_shape) * (hidden[-1] + 1):
        return (
            "the output layer is missing: it maps the last hidden layer to every pixel of the image"
        )
    return (
        "a Linear(a, b) has a * b weights and b biases; the layers run latent_dim -> hidden... -> "
        "C * H * W (Tanh and ReLU have no parameters)"
    )


def check_mlp_parameter_count(mlp_generator_parameters) -> bool:
    """`mlp_generator_parameters(latent_dim, hidden, image_shape)` counts the trainable
    parameters of ``MLPGenerator(latent_dim, image_shape, hidden)`` from the sizes alone."""
    cases = [
        (100, (256, 256), (1, 32, 32)),
        (64, (128,), (3, 16, 16)),
        (10, (32, 64, 128), (1, 28, 28)),
        (100, (256, 256), (3, 64, 64)),
    ]
    for latent_dim, hidden, image_shape in cases:
        what = f"mlp_generator_parameters({latent_dim}, {hidden}, {image_shape})"
        got = _call(
            mlp_generator_parameters,
            latent_dim,
            hidden,
            image_shape,
            what="mlp_generator_parameters",
        )
        _expect(
            isinstance(got, int) or (torch.is_tensor(got) and got.numel() == 1),
            f"{what} should return an int, got {type(got).__name__}",
        )
        got = int(got)
        with torch.device("meta"):  # sizes only: no memory, no arithmetic
            want = count_parameters(MLPGenerator(latent_dim, image_shape, hidden))
        if got != want:
            hint = _mlp_parameter_hint(got, want, latent_dim, hidden, image_shape)
            raise CheckFailed(f"{what} should be {want:,}, got {got:,}: {hint}")
    return _passed("mlp_generator_parameters")
