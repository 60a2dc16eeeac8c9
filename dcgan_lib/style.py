"""Neural style transfer and texture synthesis by optimisation (Gatys, Ecker, Bethge).

An image is described by the feature maps a convolutional network computes from it:

- its **content** by the feature maps of one layer themselves (where things are);
- its **style**, or texture, by the Gram matrices of several layers' feature maps: the
  correlations between channels averaged over all positions, so *where* is thrown away.

``synthesise`` optimises the pixels of an image (L-BFGS or Adam) until its features match
a content target, a style target or both; texture synthesis is the style-only case, and
reconstructing an image from one layer the content-only case. The feature network is
torchvision's ImageNet VGG19 where its weights can be had (``feature_network("auto")``
takes it when they are cached or downloadable) and otherwise a random multi-scale network
that needs no download: Ustyuzhaninov et al. (2017) showed that random filters synthesise
natural textures. Every network has a ``name``; print it next to each picture.

Images here are (B, 3, H, W) tensors in [-1, 1], as everywhere in the book.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .device import network_available

VGG_HOST = ("download.pytorch.org", 443)
# Gatys et al. (2016): style from conv1_1 ... conv5_1, content from conv4_2 (each after ReLU);
# here style stops at conv4_1, so the network can stop at conv4_2
VGG_LAYERS = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu4_2": 22}
VGG_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
RANDOM_LAYERS = ("pixels", "relu1", "relu2", "relu3", "relu4")


# -- the losses -------------------------------------------------------------------------


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) feature maps -> (B, C, C) Gram matrices, one per image, divided by the
    number of positions H*W, so that a texture and a larger crop of it agree."""
    if features.dim() != 4:
        raise ValueError(
            f"gram_matrix needs feature maps of shape (B, C, H, W), got {tuple(features.shape)}"
        )
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, positions)
    return flat @ flat.transpose(1, 2) / (h * w)  # (B, C, C)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between two layers' feature maps of the same shape."""
    if features.shape[1:] != target.shape[1:]:
        raise ValueError(
            f"content features {tuple(features.shape)} and target {tuple(target.shape)} differ: "
            "compute both at the same layer from images of the same size"
        )
    return F.mse_loss(features, target.expand_as(features))


def style_loss(features: dict, target_grams: dict, weights: dict | None = None) -> torch.Tensor:
    """Sum over layers of weight * mean((G(features) - target Gram)^2).

    With Gram matrices divided by H*W this is Gatys et al.'s E_l = sum (G - A)^2 / (4 N^2 M^2)
    times 4: the per-layer normalisation that keeps layers of different sizes comparable.
    """
    missing = sorted(set(target_grams) - set(features))
    if missing:
        raise ValueError(f"style_loss: no features for layers {missing}; have {sorted(features)}")
    weights = weights or {name: 1.0 / len(target_grams) for name in target_grams}
    total = 0.0
    for name, target in target_grams.items():
        gram = gram_matrix(features[name])
        total = total + weights[name] * F.mse_loss(gram, target.expand_as(gram))
    return total


def total_variation_loss(images: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of vertical neighbours plus that of horizontal neighbours."""
    if images.dim() != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
    vertical = (images[..., 1:, :] - images[..., :-1, :]).pow(2).mean()
    horizontal = (images[..., :, 1:] - images[..., :, :-1]).pow(2).mean()
    return vertical + horizontal


# -- feature networks -------------------------------------------------------------------


class FeatureNetwork(nn.Module):
    """A frozen convolutional network that returns {layer name: feature maps}.

    ``body`` is a Sequential; ``taps`` maps each returned layer's name to its index in
    ``body``; ``prepare`` turns images in [-1, 1] into what the body expects."""

    def __init__(self, name: str, body: nn.Sequential, taps: dict, prepare=None):
        super().__init__()
        self.name, self.body, self.taps = name, body, dict(taps)
        self.prepare = prepare or (lambda x: x)
        self.layers = tuple(taps)
        self.requires_grad_(False).eval()

    def forward(self, images: torch.Tensor, layers=None) -> dict:
        layers = tuple(layers or self.layers)
        unknown = [name for name in layers if name not in self.taps]
        if unknown:
            raise ValueError(f"{self.name} has no layer {unknown}; its layers: {self.layers}")
        wanted = {self.taps[name]: name for name in layers}
        out, x = {}, self.prepare(images)
        for i, module in enumerate(self.body[: max(wanted) + 1]):
            x = module(x)
            if i in wanted:
                out[wanted[i]] = x
        return out

    def __repr__(self) -> str:
        return f"FeatureNetwork({self.name!r}, layers={self.layers})"


def random_network(
    widths=(32, 64, 128, 128), kernel_sizes=(3, 5, 7), seed: int = 0
) -> FeatureNetwork:
    """A random, untrained multi-scale network: per stage, filters of several sizes side by
    side (``widths[i]`` channels split between ``kernel_sizes``), ReLU, then 2x2 average
    pooling before the next stage, after a "pixels" layer (UnitRange) whose Gram matrix
    carries the colours. Filters are zero-mean (flat colour excites none), and
    each stage is scaled so that its activations have unit mean square on 1/f noise, whose
    spectrum is that of natural images: every layer then counts about as much."""
    if len(widths) != len(RANDOM_LAYERS) - 1 or min(widths) < len(kernel_sizes):
        raise ValueError(f"widths needs {len(RANDOM_LAYERS) - 1} stages of >= 3 channels: {widths}")
    g = torch.Generator().manual_seed(seed)
    body, taps, channels = [UnitRange()], {"pixels": 0}, 3
    x = pink_noise(128, g)  # the calibration image
    for stage, width in enumerate(widths):
        if stage:
            body.append(nn.AvgPool2d(2))
            x = body[-1](x)
        conv = MultiScaleConv(channels, width, kernel_sizes, g)
        with torch.no_grad():
            conv.scale = float(F.relu(conv(x)).pow(2).mean().rsqrt())
            x = F.relu(conv(x))
        body += [conv, nn.ReLU()]
        taps[RANDOM_LAYERS[stage + 1]] = len(body) - 1
        channels = width
    return FeatureNetwork(f"random multi-scale (seed {seed})", nn.Sequential(*body), taps)


class UnitRange(nn.Module):
    """[-1, 1] -> [0, 1]. The random network's "pixels" layer: the Gram matrix of values in
    [0, 1] holds the mean colour too (that of [-1, 1] is the same for x and -x)."""

    def forward(self, x):
        return (x + 1) / 2


def pink_noise(size: int, generator: torch.Generator) -> torch.Tensor:
    """(1, 3, size, size) noise with a 1/f amplitude spectrum, scaled to [-1, 1]."""
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    amplitude = 1 / (fx**2 + fy**2).sqrt().clamp(min=1 / size)
    spectrum = torch.randn(1, 3, size, size // 2 + 1, 2, generator=generator)
    x = torch.fft.irfft2(torch.view_as_complex(spectrum) * amplitude, s=(size, size))
    return x / x.abs().amax()


class MultiScaleConv(nn.Module):
    """Random convolutions of several kernel sizes, concatenated along channels, times a
    fixed ``scale``."""

    def __init__(self, channels: int, width: int, kernel_sizes, generator: torch.Generator):
        super().__init__()
        split = [width // len(kernel_sizes)] * len(kernel_sizes)
        split[0] += width - sum(split)
        self.scale = 1.0
        self.convs = nn.ModuleList()
        for k, n in zip(kernel_sizes, split):
            # replicate padding: zeros would make every border an edge, framing each texture
            conv = nn.Conv2d(channels, n, k, padding=k // 2, padding_mode="replicate", bias=False)
            w = torch.randn(conv.weight.shape, generator=generator)
            w = w - w.mean(dim=(2, 3), keepdim=True)  # zero mean: flat colour excites none
            conv.weight.data = w / (w[0].numel() ** 0.5)
            self.convs.append(conv)

    def forward(self, x):
        return self.scale * torch.cat([conv(x) for conv in self.convs], dim=1)


def vgg19_weights_available() -> bool:
    """VGG19's ImageNet weights are in the torch hub cache, or their host answers."""
    from torchvision.models import VGG19_Weights

    name = os.path.basename(VGG19_Weights.DEFAULT.url)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / name
    return cached.is_file() or network_available(*VGG_HOST)


def vgg19_network(pretrained: bool = True) -> FeatureNetwork:
    """torchvision's ImageNet VGG19 up to relu4_2, max pooling replaced by average pooling
    (as Gatys et al. did). Downloads the weights (548 MB) once; the torch hub caches them.
    ``pretrained=False``: the same layers with random weights (for tests)."""
    from torchvision.models import VGG19_Weights, vgg19
    from torchvision.models.vgg import cfgs, make_layers

    try:  # without weights, only the convolutional part (the classifier is 120M parameters)
        if pretrained:
            features = vgg19(weights=VGG19_Weights.DEFAULT, progress=False).features
        else:
            features = make_layers(cfgs["E"][:13])  # up to conv4_2, all the chapter uses
    except Exception as e:  # URLError, HTTPError, a truncated download...
        raise ValueError(
            f"VGG19 weights could not be had ({type(e).__name__}: {e}); use "
            'feature_network("random") offline'
        ) from None
    body = [nn.AvgPool2d(2) if isinstance(m, nn.MaxPool2d) else m for m in features]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def prepare(x):  # [-1, 1] -> ImageNet-normalised
        return ((x + 1) / 2 - mean.to(x.device)) / std.to(x.device)

    body = nn.Sequential(*body[: max(VGG_LAYERS.values()) + 1])
    name = "VGG19 (ImageNet)" if pretrained else "VGG19 (random weights)"
    return FeatureNetwork(name, body, VGG_LAYERS, prepare)


def feature_network(name: str = "auto", device="cpu", seed: int = 0) -> FeatureNetwork:
    """ "vgg19", "random", or "auto": VGG19 where its weights can be had, else the random
    network. Prints which one it is; its ``name`` says it in every figure."""
    if name not in ("auto", "vgg19", "random"):
        raise ValueError(f'feature network {name!r}: choose "auto", "vgg19" or "random"')
    network = None
    if name == "vgg19" or (name == "auto" and vgg19_weights_available()):
        try:
            network = vgg19_network()
        except ValueError as e:  # "auto" falls back, saying why
            if name == "vgg19":
                raise
            print(f"{e}: taking the random network")
    network = network or random_network(seed=seed)
    print(f"feature network: {network.name}")
    return network.to(device)


def style_layers(network: FeatureNetwork) -> tuple:
    """The layers whose Gram matrices make the style: conv1_1..conv4_1 of VGG19, or every
    stage of the random network."""
    return VGG_STYLE_LAYERS if "relu4_2" in network.taps else RANDOM_LAYERS


def content_layer(network: FeatureNetwork) -> str:
    """Gatys et al.'s content layer, conv4_2 of VGG19; the third stage of the random one."""
    return "relu4_2" if "relu4_2" in network.taps else "relu3"


# -- optimisation -----------------------------------------------------------------------


@dataclass
class Synthesis:
    """What ``synthesise`` made: the image, the losses at each evaluation, the time."""

    image: torch.Tensor
    network: str
    losses: list = field(default_factory=list)
    content: float = float("nan")
    style: float = float("nan")
    seconds: float = 0.0


def synthesise(
    network: FeatureNetwork,
    content=None,
    style=None,
    content_layer_name: str | None = None,
    style_layer_names=None,
    content_weight: float = 1.0,
    style_weight: float = 1.0,
    tv_weight: float = 0.0,
    steps: int = 100,
    optimiser: str = "lbfgs",
    lr: float | None = None,
    init="noise",
    size: int | None = None,
    seed: int = 0,
) -> Synthesis:
    """An image whose features match ``content`` at one layer and the Gram matrices of
    ``style`` at several, found by optimising its pixels.

    content / style: (1, 3, H, W) images in [-1, 1], either may be None (None for style:
    reconstruct the content; None for content: synthesise a texture of ``size``).
    init: "noise", "content", or a tensor. optimiser: "lbfgs" (``steps`` function
    evaluations) or "adam" (``steps`` updates, lr 0.05 unless given).
    """
    if content is None and style is None:
        raise ValueError("synthesise needs a content image, a style image, or both")
    if optimiser not in ("lbfgs", "adam"):
        raise ValueError(f'optimiser {optimiser!r}: choose "lbfgs" or "adam"')
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    device = next(network.parameters()).device
    c_layer = content_layer_name or content_layer(network)
    s_layers = tuple(style_layer_names or style_layers(network))
    with torch.no_grad():
        c_target = None
        if content is not None:
            c_target = network(content.to(device), [c_layer])[c_layer]
        s_targets = (
            {k: gram_matrix(v) for k, v in network(style.to(device), s_layers).items()}
            if style is not None
            else {}
        )
    if content is not None:
        shape = content.shape
    else:
        shape = (1, 3, size or style.shape[-2], size or style.shape[-1])
    image = _initial_image(init, content, shape, seed).to(device).requires_grad_(True)
    layers = ((c_layer,) if c_target is not None else ()) + s_layers * bool(s_targets)
    result = Synthesis(image=image, network=network.name)

    def objective():
        features = network(image, layers)
        zero = image.new_zeros(())
        c = content_loss(features[c_layer], c_target) if c_target is not None else zero
        s = style_loss(features, s_targets) if s_targets else zero
        loss = content_weight * c + style_weight * s + tv_weight * total_variation_loss(image)
        result.content, result.style = float(c.detach()), float(s.detach())
        result.losses.append(float(loss.detach()))
        return loss

    start = time.perf_counter()
    if optimiser == "lbfgs":
        # no early stop on small changes: style losses are small numbers, and the budget is steps
        opt = torch.optim.LBFGS(
            [image], lr=lr or 1.0, max_iter=steps, history_size=20, tolerance_change=0.0
        )

        def closure():
            opt.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        opt.step(closure)
    else:
        opt = torch.optim.Adam([image], lr=lr or 0.05)
        for _ in range(steps):
            opt.zero_grad()
            objective().backward()
            opt.step()
    with torch.no_grad():
        image.clamp_(-1, 1)
        objective()  # the losses of the image returned, after clamping
    result.losses.pop()
    result.seconds = time.perf_counter() - start
    result.image = image.detach()
    return result


def _initial_image(init, content, shape, seed: int) -> torch.Tensor:
    if torch.is_tensor(init):
        return init.detach().clone()
    if init == "content":
        if content is None:
            raise ValueError('init="content" needs a content image')
        return content.detach().clone()
    if init == "noise":
        g = torch.Generator().manual_seed(seed)
        return torch.randn(shape, generator=g) * 0.2
    raise ValueError(f'init {init!r}: choose "noise", "content" or a tensor')


def measure_style(network: FeatureNetwork, images: torch.Tensor, style: torch.Tensor) -> float:
    """The style loss of ``images`` (averaged over the batch) against ``style``: the one
    quality score the chapter gives every method, in ``network``'s features."""
    layers = style_layers(network)
    with torch.no_grad():
        targets = {k: gram_matrix(v) for k, v in network(style, layers).items()}
        return float(style_loss(network(images, layers), targets))
