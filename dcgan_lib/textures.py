"""Style and texture by feed-forward networks: one pass per image instead of an optimisation.

- ``StyleNetwork`` (Johnson, Alahi, Fei-Fei 2016): an image transformation network
  (strided convolutions down, residual blocks, upsampling back) trained once per style with
  the perceptual losses of ``style.py``; instance normalisation as Ulyanov et al. (2016)
  found better for stylisation. ``train_style_network`` trains it.
- ``SpatialGenerator`` / ``SpatialDiscriminator`` (Spatial GAN, Jetchev, Bergmann, Vollgraf
  2016): a DCGAN with no fully connected layer, whose noise is a spatial tensor
  (B, latent_dim, h, w), trained on random crops of a single image. The discriminator
  answers with a field of logits, one per patch. Being fully convolutional, the generator
  makes a texture of any size: more noise positions, a larger picture.
  ``train_spatial_gan`` trains the pair with the book's GAN losses.

The chapter's pictures come from scikit-learn's two bundled photographs (``picture``).
Images are (B, 3, H, W) in [-1, 1].
"""

from __future__ import annotations

import functools
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .checkpoint import load_checkpoint, unpack_model
from .losses import discriminator_loss, generator_loss_nonsaturating
from .models import register_model
from .style import (
    FeatureNetwork,
    content_layer,
    content_loss,
    gram_matrix,
    style_layers,
    style_loss,
    total_variation_loss,
)

SAMPLE_PHOTOS = ("china.jpg", "flower.jpg")
# the chapter's pictures, as crops (top, left, height, width) of scikit-learn's photographs
PICTURES = {
    "china": ("china.jpg", None),  # the central square: the content
    "china-wide": ("china.jpg", (0, 0, 427, 640)),  # the whole photograph
    "petals": ("flower.jpg", (100, 200, 220, 220)),  # the dahlia's petals: the style
}

# -- images -----------------------------------------------------------------------------


def sample_photo(name: str, size=64, crop=None) -> torch.Tensor:
    """One of scikit-learn's bundled photographs (427 x 640) as a (1, 3, H, W) tensor in
    [-1, 1]: the crop (top, left, height, width) if given, else the central square, resized
    with antialiasing to ``size`` (an int for a square, or (H, W))."""
    if name not in SAMPLE_PHOTOS:
        raise ValueError(f"sample photo {name!r}: scikit-learn ships {SAMPLE_PHOTOS}")
    x = torch.tensor(_photo(name)).permute(2, 0, 1).float()  # a copy: the cache stays intact
    h, w = x.shape[1:]
    top, left, ch, cw = crop or ((h - min(h, w)) // 2, (w - min(h, w)) // 2, min(h, w), min(h, w))
    if top < 0 or left < 0 or top + ch > h or left + cw > w:
        raise ValueError(f"crop {crop} lies outside the {h} x {w} photograph")
    x = x[None, :, top : top + ch, left : left + cw] / 127.5 - 1
    size = (size, size) if isinstance(size, int) else tuple(size)
    return F.interpolate(x, size=size, mode="bilinear", antialias=True).clamp(-1, 1)


@functools.lru_cache(maxsize=len(SAMPLE_PHOTOS))
def _photo(name: str) -> np.ndarray:
    """(427, 640, 3) uint8, read once from scikit-learn's folder of sample images (found
    without importing sklearn.datasets, which takes seconds and reads both photographs)."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "images" / name if spec else None
    if path is None or not path.is_file():
        raise ValueError(
            f"scikit-learn's sample photograph {name} is missing: pip install scikit-learn"
        )
    photo = np.array(Image.open(path).convert("RGB"))
    photo.flags.writeable = False
    return photo


def picture(name: str, size=64) -> torch.Tensor:
    """One of the chapter's PICTURES as (1, 3, H, W) in [-1, 1] (``size``: int or (H, W))."""
    if name not in PICTURES:
        raise ValueError(f"picture {name!r}: choose one of {sorted(PICTURES)}")
    photo, crop = PICTURES[name]
    return sample_photo(photo, size, crop)


# -- the fast style network (Johnson et al. 2016) ---------------------------------------


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Reflection padding, convolution, instance norm, ReLU."""
    layers = [
        nn.ReflectionPad2d(kernel // 2),
        nn.Conv2d(cin, cout, kernel, stride),
        nn.InstanceNorm2d(cout, affine=True),
    ]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """x + two 3x3 convolutions of x."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, 3), _conv(channels, channels, 3, relu=False)
        )

    def forward(self, x):
        return x + self.body(x)


@register_model
class StyleNetwork(nn.Module):
    """Image -> stylised image of the same size (a multiple of 4). Johnson et al. used
    widths (32, 64, 128) and five residual blocks; the defaults here are smaller, to train
    in minutes on a CPU. Upsampling is nearest-neighbour then a convolution (instead of the
    paper's fractionally strided convolutions), which avoids checkerboard artefacts."""

    def __init__(self, widths=(16, 32, 64), blocks: int = 3):
        super().__init__()
        if len(widths) != 3 or blocks < 0:
            raise ValueError(f"StyleNetwork needs three widths and blocks >= 0: {widths}, {blocks}")
        w1, w2, w3 = widths
        kwargs = {"widths": list(widths), "blocks": blocks}
        self.config = {"class": "StyleNetwork", "kwargs": kwargs}
        self.net = nn.Sequential(
            _conv(3, w1, 9),  # (B, w1, H, W)
            _conv(w1, w2, 3, stride=2),  # (B, w2, H/2, W/2)
            _conv(w2, w3, 3, stride=2),  # (B, w3, H/4, W/4)
            *[ResidualBlock(w3) for _ in range(blocks)],
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(w3, w2, 3),  # (B, w2, H/2, W/2)
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(w2, w1, 3),  # (B, w1, H, W)
            nn.ReflectionPad2d(4),
            nn.Conv2d(w1, 3, 9),  # (B, 3, H, W)
            nn.Tanh(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2:]
        if images.dim() != 4 or images.shape[1] != 3 or h % 4 or w % 4:
            raise ValueError(
                f"StyleNetwork takes (B, 3, H, W) images with H and W multiples of 4, "
                f"got {tuple(images.shape)}"
            )
        return self.net(images)


def random_crops(image: torch.Tensor, size: int, n: int, generator: torch.Generator):
    """``n`` random ``size`` x ``size`` crops of one (1, C, H, W) image -> (n, C, size, size)."""
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"random_crops takes one image (1, C, H, W), got {tuple(image.shape)}")
    h, w = image.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"crop size {size} is larger than the {h} x {w} image")
    tops = torch.randint(0, h - size + 1, (n,), generator=generator).tolist()
    lefts = torch.randint(0, w - size + 1, (n,), generator=generator).tolist()
    return torch.cat([image[..., t : t + size, s : s + size] for t, s in zip(tops, lefts)])


def train_style_network(
    network: StyleNetwork,
    features: FeatureNetwork,
    style: torch.Tensor,
    contents: torch.Tensor,
    steps: int = 200,
    batch_size: int = 4,
    content_weight: float = 1.0,
    style_weight: float = 10.0,
    tv_weight: float = 0.3,
    lr: float = 1e-3,
    seed: int = 0,
) -> dict:
    """Train ``network`` to stylise images like ``contents`` (N, 3, H, W) in the style of
    ``style`` (1, 3, h, w): per step, a batch of content images, the loss
    content_weight * content + style_weight * style + tv_weight * TV of the output.
    Returns {"loss", "content", "style": per-step lists, "seconds"}."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps} and {batch_size}")
    if contents.dim() != 4 or contents.shape[1] != 3:
        raise ValueError(f"contents must be (N, 3, H, W) images, got {tuple(contents.shape)}")
    g = torch.Generator().manual_seed(seed)
    c_layer, s_layers = content_layer(features), style_layers(features)
    with torch.no_grad():
        targets = {k: gram_matrix(v) for k, v in features(style, s_layers).items()}
    opt = torch.optim.Adam(network.parameters(), lr=lr)
    history = {"loss": [], "content": [], "style": []}
    network.train()
    start = time.perf_counter()
    for _ in range(steps):
        x = contents[torch.randint(0, len(contents), (batch_size,), generator=g)]
        y = network(x)
        with torch.no_grad():
            x_content = features(x, [c_layer])[c_layer]
        f = features(y, (c_layer, *s_layers))
        c, s = content_loss(f[c_layer], x_content), style_loss(f, targets)
        loss = content_weight * c + style_weight * s + tv_weight * total_variation_loss(y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        for name, value in (("loss", loss), ("content", c), ("style", s)):
            history[name].append(float(value.detach()))
    history["seconds"] = time.perf_counter() - start
    network.eval()
    return history


# -- Spatial GAN (Jetchev et al. 2016) ---------------------------------------------------


@register_model
class SpatialGenerator(nn.Module):
    """Noise (B, latent_dim, h, w) -> images (B, 3, h * 2^stages, w * 2^stages): DCGAN's
    generator without its fully connected projection, every stage a stride-2 transposed
    convolution (4x4), batch norm and ReLU; tanh at the output."""

    def __init__(self, latent_dim: int = 16, width: int = 32, stages: int = 4):
        super().__init__()
        if latent_dim < 1 or width < 1 or stages < 1:
            raise ValueError(
                f"latent_dim, width and stages must be >= 1, got {latent_dim}, {width}, {stages}"
            )
        self.latent_dim, self.stages = latent_dim, stages
        self.config = {
            "class": "SpatialGenerator",
            "kwargs": {"latent_dim": latent_dim, "width": width, "stages": stages},
        }
        layers, channels = [], latent_dim
        for i in range(stages - 1):  # widths halve towards the image: width * 2^(stages-2) ...
            out = width * 2 ** (stages - 2 - i)
            layers += [
                nn.ConvTranspose2d(channels, out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(),
            ]
            channels = out
        layers += [nn.ConvTranspose2d(channels, 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def noise(self, n: int, size: int, seed: int = 0) -> torch.Tensor:
        """Noise for ``n`` images of ``size`` x ``size`` pixels (a multiple of 2^stages)."""
        factor = 2**self.stages
        if size % factor or size < factor:
            raise ValueError(f"size must be a positive multiple of {factor}, got {size}")
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.latent_dim, size // factor, size // factor, generator=g)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 4 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"SpatialGenerator takes noise (B, {self.latent_dim}, h, w), got {tuple(z.shape)}"
            )
        return self.net(z)


@register_model
class SpatialDiscriminator(nn.Module):
    """Images (B, 3, H, W) -> a field of logits (B, 1, H / 2^stages, W / 2^stages), one
    per patch: DCGAN's discriminator without its final dense layer (LeakyReLU 0.2, batch
    norm except on the input stage)."""

    def __init__(self, width: int = 32, stages: int = 4):
        super().__init__()
        if width < 1 or stages < 2:
            raise ValueError(f"width must be >= 1 and stages >= 2, got {width}, {stages}")
        kwargs = {"width": width, "stages": stages}
        self.config = {"class": "SpatialDiscriminator", "kwargs": kwargs}
        layers, channels = [], 3
        for i in range(stages - 1):
            out = width * 2**i
            layers.append(nn.Conv2d(channels, out, 4, 2, 1, bias=i > 0))
            if i:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2))
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, 2, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def train_spatial_gan(
    generator: SpatialGenerator,
    discriminator: SpatialDiscriminator,
    image: torch.Tensor,
    crop_size: int = 32,
    steps: int = 300,
    batch_size: int = 16,
    lr: float = 2e-4,
    seed: int = 0,
) -> dict:
    """Train the pair on random ``crop_size`` crops of one (1, 3, H, W) image: D then G each
    step, the book's logits losses averaged over D's field, Adam(lr, betas=(0.5, 0.999)) as
    in DCGAN. Returns {"loss_d", "loss_g": per-step lists, "seconds"}."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps} and {batch_size}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    history = {"loss_d": [], "loss_g": []}
    generator.train(), discriminator.train()
    start = time.perf_counter()
    for step in range(steps):
        real = random_crops(image, crop_size, batch_size, g)
        z = generator.noise(batch_size, crop_size, seed=seed * 100_003 + step)
        fake = generator(z)
        # (1) D: real crops -> 1, generated -> 0, at every position of the logit field
        loss_d = discriminator_loss(discriminator(real), discriminator(fake.detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # (2) G: make D's field say "real" everywhere (non-saturating loss)
        loss_g = generator_loss_nonsaturating(discriminator(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        history["loss_d"].append(float(loss_d.detach()))
        history["loss_g"].append(float(loss_g.detach()))
    history["seconds"] = time.perf_counter() - start
    generator.eval(), discriminator.eval()
    return history


# -- shipped networks --------------------------------------------------------------------


def half_precision(packed: dict) -> dict:
    """A packed model (``pack_model``) with its floating weights in float16, for shipping;
    loading casts them back to the model's float32."""
    sd = {k: v.half() if v.is_floating_point() else v for k, v in packed["state_dict"].items()}
    return {**packed, "state_dict": sd}


def load_trained(path, which: str) -> tuple[nn.Module, dict]:
    """(network, record) from a checkpoint written by ``train-style`` (which="style_network")
    or ``train-texture`` (which="texture_generator"); the record holds its meta (command,
    feature network, seed, wall time) and per-step losses under "history"."""
    if which not in ("style_network", "texture_generator"):
        raise ValueError(f'which {which!r}: choose "style_network" or "texture_generator"')
    state = load_checkpoint(path)
    model = unpack_model(state.get(which), which, source=str(path))
    return model.float(), {**state.get("meta", {}), "history": state.get("history", {})}
