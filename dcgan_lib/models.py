"""The networks of the book: the DCGAN generator and discriminator, and the fully
connected ("plain GAN") pair used as the baseline.

The DCGAN pair follows the architecture guidelines of Radford et al. (2016):

* no pooling: the generator upsamples with strided transposed convolutions, the
  discriminator downsamples with strided convolutions;
* no hidden fully connected layers: the latent vector is projected to a 4x4 map by the
  first transposed convolution, and the discriminator's last convolution reads its 4x4
  map straight to one logit;
* BatchNorm in every layer except the generator's output and the discriminator's input;
* ReLU in the generator with Tanh at its output, LeakyReLU(0.2) in the discriminator.

Both are built by a loop over stages, so one class covers every power-of-two image size
from 16 to 256 and any channel count. ``width`` is the number of channels of the
generator's last hidden stage and of the discriminator's first stage; every stage
closer to 4x4 doubles it. With ``latent_dim=100, image_size=64, channels=3, width=128``
the generator is the paper's 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3;
``width=64`` gives the PyTorch DCGAN tutorial's 4x4x512 variant (its ``ngf``/``ndf``).

The discriminator returns logits, not probabilities: the losses apply the sigmoid in a
numerically stable way, and a logit is safe under autocast where Sigmoid + BCELoss is not.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

__all__ = [
    "ALLOWED_IMAGE_SIZES",
    "Generator",
    "Discriminator",
    "MLPGenerator",
    "MLPDiscriminator",
    "dcgan_init",
    "count_parameters",
    "model_from_config",
    "register_model",
    "unwrap_model",
    "check_model_contract",
    "make_pair",
    "sample_generator",
    "check_image_size",
]

ALLOWED_IMAGE_SIZES = (16, 32, 64, 128, 256)


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_image_size(image_size, smallest: int = 16, largest: int = 256) -> int:
    """The one rule for image sizes: a power of two from ``smallest`` to ``largest``.

    The DCGAN pair needs 16 to 256 (one stride-2 stage per doubling from 4x4); the book's
    small classifier goes down to 8. Returns the size, or raises a one-line ValueError.
    """
    ok = isinstance(image_size, int) and not isinstance(image_size, bool)
    if not ok or not smallest <= image_size <= largest or image_size & (image_size - 1):
        sizes = ", ".join(str(2**k) for k in range(smallest.bit_length() - 1, largest.bit_length()))
        raise ValueError(
            f"image_size must be a power of two from {smallest} to {largest} "
            f"(one of {sizes}), got {image_size!r}"
        )
    return image_size


def _num_stages(image_size) -> int:
    """Number of stride-2 stages between 4x4 and ``image_size`` (64 -> 4)."""
    return int(math.log2(check_image_size(image_size))) - 2


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv and linear weights N(0, 0.02) (the paper: "all weights");
    BatchNorm weight N(1, 0.02) and biases 0 (the authors' code, not stated in the paper).
    Apply with ``model.apply(dcgan_init)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class _Configurable(nn.Module):
    """Records the constructor arguments so a checkpoint can rebuild the model."""

    def _record(self, **kwargs) -> None:
        self.config = {"class": type(self).__name__, "kwargs": dict(kwargs)}


class Generator(_Configurable):
    """DCGAN generator: z (B, latent_dim) -> images (B, channels, image_size, image_size) in
    [-1, 1]."""

    def __init__(
        self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 128
    ):
        super().__init__()
        _check_positive_int("latent_dim", latent_dim)
        _check_positive_int("channels", channels)
        _check_positive_int("width", width)
        n = _num_stages(image_size)
        self._record(latent_dim=latent_dim, image_size=image_size, channels=channels, width=width)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels

        c = width * 2 ** (n - 1)  # channels of the 4x4 map: 1024 for the paper's 64x64
        layers = [  # project: (B, latent_dim, 1, 1) -> (B, c, 4, 4)
            nn.ConvTranspose2d(latent_dim, c, 4, 1, 0, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
        ]
        for _ in range(n - 1):  # each stage: (B, c, s, s) -> (B, c/2, 2s, 2s)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c // 2),
                nn.ReLU(inplace=True),
            ]
            c //= 2
        # output: (B, width, size/2, size/2) -> (B, channels, size, size); no BatchNorm here
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]  # (B, latent_dim) -> (B, latent_dim, 1, 1)
        return self.net(z)


class Discriminator(_Configurable):
    """DCGAN discriminator: images (B, channels, image_size, image_size) -> logits (B,)."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 128):
        super().__init__()
        _check_positive_int("channels", channels)
        _check_positive_int("width", width)
        n = _num_stages(image_size)
        self._record(image_size=image_size, channels=channels, width=width)
        self.image_size, self.channels = image_size, channels

        c = width
        # input: (B, channels, size, size) -> (B, width, size/2, size/2); no BatchNorm here
        layers = [nn.Conv2d(channels, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(n - 1):  # each stage: (B, c, s, s) -> (B, 2c, s/2, s/2)
            layers += [
                nn.Conv2d(c, c * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c *= 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False)]  # (B, c, 4, 4) -> (B, 1, 1, 1): one logit
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.channels, self.image_size
        if x.dim() != 4 or x.shape[1:] != (c, s, s):  # else: several logits per image, or none
            raise ValueError(
                f"this Discriminator takes images of shape (B, {c}, {s}, {s}), got "
                f"{tuple(x.shape)}; load the data at image_size={s} with {c} channel(s)"
            )
        return self.net(x).flatten()  # (B,) logits


def _mlp(sizes, activation, batchnorm=False, dropout=0.0) -> list[nn.Module]:
    """Linear layers through ``sizes``, each followed by [BatchNorm], the activation, [dropout]."""
    act = {"relu": lambda: nn.ReLU(True), "leaky": lambda: nn.LeakyReLU(0.2, True)}.get(activation)
    if act is None or not 0 <= dropout < 1:
        raise ValueError(
            "activation must be 'relu' or 'leaky' and dropout in [0, 1), "
            f"got {activation!r}, {dropout!r}"
        )
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        norm = [nn.BatchNorm1d(b)] if batchnorm else []
        layers += [nn.Linear(a, b), *norm, act()]
        layers += [nn.Dropout(dropout)] if dropout else []
    return layers


def _mlp_sizes(name: str, shape, hidden) -> tuple[tuple, tuple]:
    shape, hidden = tuple(int(s) for s in shape), tuple(int(h) for h in hidden)
    if not shape or min(shape) < 1 or not hidden or min(hidden) < 1:
        raise ValueError(f"{name} and hidden must be non-empty positive sizes: {shape}, {hidden}")
    return shape, hidden


class MLPGenerator(_Configurable):
    """Fully connected generator of the original GAN paper (ReLU hidden layers).

    ``output_shape`` is ``(2,)`` for the 2-D toy data (no output squashing) or
    ``(channels, size, size)`` for images (Tanh output in [-1, 1]). The stronger baseline's
    options: ``batchnorm`` after each hidden layer, ``activation`` "relu" or "leaky" (0.2).
    """

    def __init__(
        self,
        latent_dim: int = 64,
        output_shape=(1, 32, 32),
        hidden=(256, 512, 1024),
        batchnorm: bool = False,
        activation: str = "relu",
    ):
        super().__init__()
        _check_positive_int("latent_dim", latent_dim)
        output_shape, hidden = _mlp_sizes("output_shape", output_shape, hidden)
        # options are recorded only when set: the plain MLP's config (and checkpoints) as before
        self._record(latent_dim=latent_dim, output_shape=list(output_shape), hidden=list(hidden))
        options = {"batchnorm": bool(batchnorm), "activation": activation}
        self.config["kwargs"] |= {k: v for k, v in options.items() if v not in (False, "relu")}
        self.latent_dim, self.output_shape = latent_dim, output_shape
        layers = _mlp((latent_dim, *hidden), activation, bool(batchnorm))
        layers.append(nn.Linear(hidden[-1], math.prod(output_shape)))
        if len(output_shape) > 1:  # images live in [-1, 1]
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.flatten(1)).view(-1, *self.output_shape)


class MLPDiscriminator(_Configurable):
    """Fully connected discriminator (LeakyReLU hidden layers) -> logits (B,); ``dropout``
    after each hidden layer (the original GAN paper's discriminators used it)."""

    def __init__(self, input_shape=(1, 32, 32), hidden=(1024, 512, 256), dropout: float = 0.0):
        super().__init__()
        input_shape, hidden = _mlp_sizes("input_shape", input_shape, hidden)
        extra = {"dropout": float(dropout)} if dropout else {}
        self._record(input_shape=list(input_shape), hidden=list(hidden), **extra)
        self.input_shape = input_shape
        layers = _mlp((math.prod(input_shape), *hidden), "leaky", dropout=float(dropout))
        layers.append(nn.Linear(hidden[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).flatten()


_MODELS = {cls.__name__: cls for cls in (Generator, Discriminator, MLPGenerator, MLPDiscriminator)}


def register_model(cls: type) -> type:
    """Let checkpoints rebuild ``cls`` by name (a class decorator); its instances must
    record ``.config = {"class": cls.__name__, "kwargs": {...}}``."""
    _MODELS[cls.__name__] = cls
    return cls


def model_from_config(config: dict) -> nn.Module:
    """Rebuild a model from its ``.config`` (as stored in a checkpoint)."""
    try:
        return _MODELS[config["class"]](**config["kwargs"])
    except (KeyError, TypeError) as e:
        raise ValueError(f"not a dcgan_lib model configuration: {config!r} ({e})") from None


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module under torch.compile and DistributedDataParallel wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if inner is None or not isinstance(inner, nn.Module):
            return model
        model = inner


def check_model_contract(model: nn.Module, role: str) -> None:
    """What the trainer and checkpoints need of a model, checked before any step.

    Both models: an ``nn.Module`` with ``.config = {"class": ..., "kwargs": {...}}``, its
    constructor arguments, so a checkpoint can rebuild it (``dcgan_lib`` models record it;
    a custom module sets it in ``__init__``). The generator also: an int ``latent_dim``.
    """
    inner = unwrap_model(model)
    name = type(inner).__name__
    if not isinstance(inner, nn.Module):
        raise TypeError(f"the {role} must be a torch.nn.Module, got {name}")
    config = getattr(inner, "config", None)
    ok = isinstance(config, dict) and isinstance(config.get("class"), str)
    if not (ok and isinstance(config.get("kwargs"), dict)):
        raise TypeError(
            f"the {role} ({name}) has no .config = {{'class': ..., 'kwargs': {{...}}}} "
            "recording its constructor arguments, which checkpoints need to rebuild it; "
            "set it in __init__ or build the model with dcgan_lib"
        )
    latent_dim = getattr(inner, "latent_dim", None)
    if role == "generator" and (isinstance(latent_dim, bool) or not isinstance(latent_dim, int)):
        raise TypeError(
            f"the generator ({name}) has no int .latent_dim, the size of the noise it takes; "
            "set self.latent_dim in __init__"
        )


MODEL_KINDS = ("dcgan", "authors", "mlp")
# the convolutional pairs by registered class name ("authors": dcgan_lib/authors.py)
_CONV_PAIRS = {
    "dcgan": ("Generator", "Discriminator"),
    "authors": ("AuthorsGenerator", "AuthorsDiscriminator"),
}


def draw_latent(generator: nn.Module, n: int, device=None, rng=None) -> torch.Tensor:
    """``n`` noise vectors for ``generator``: N(0, I), or U(-1, 1) for a generator whose
    ``latent_distribution`` is "uniform" (the DCGAN authors' code).

    ``rng``: a CPU ``torch.Generator``; without one the noise is drawn on ``device`` itself
    from its global random state (no copy from the host each step)."""
    shape = (n, unwrap_model(generator).latent_dim)
    where = "cpu" if rng is not None or device is None else device
    uniform = getattr(unwrap_model(generator), "latent_distribution", "normal") == "uniform"
    if uniform:
        z = torch.rand(shape, generator=rng, device=where) * 2 - 1
    else:
        z = torch.randn(shape, generator=rng, device=where)
    return z.to(device) if device is not None else z


def make_pair(
    model: str = "dcgan",
    image_shape=(1, 32, 32),
    latent_dim: int = 100,
    width: int = 32,
    hidden=(256, 512),
    seed: int | None = None,
) -> tuple[nn.Module, nn.Module]:
    """A fresh (generator, discriminator) pair, as ``python -m dcgan_lib train`` builds it.

    ``model``: "dcgan" (the convolutional pair, ``width`` = ngf = ndf), "authors" (the DCGAN
    authors' 5x5 variant, dcgan_lib/authors.py) or "mlp" (the fully connected baseline: G's
    hidden sizes ``hidden``, D's the same reversed).
    ``image_shape``: (channels, size, size), or (2,) for 2-D points (mlp only).
    ``seed``: when given, the initial weights follow it (``torch.manual_seed(seed)`` first).
    """
    shape = tuple(int(s) for s in image_shape)
    if model not in MODEL_KINDS:
        raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, got {model!r}")
    if seed is not None:
        torch.manual_seed(seed)
    if model == "mlp":
        hidden = tuple(hidden)
        return MLPGenerator(latent_dim, shape, hidden), MLPDiscriminator(shape, hidden[::-1])
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(
            f"the dcgan model needs square images (channels, size, size), got shape {shape}: "
            "use model='mlp' for 2-D points"
        )
    channels, size = shape[0], shape[1]
    g_class, d_class = (_MODELS[name] for name in _CONV_PAIRS[model])
    return g_class(latent_dim, size, channels, width), d_class(size, channels, width)


@torch.no_grad()
def sample_generator(
    generator: nn.Module,
    n: int = 64,
    seed: int | None = 0,
    *,
    z: torch.Tensor | None = None,
    batch_size: int = 500,
    device=None,
    autocast=contextlib.nullcontext,
) -> torch.Tensor:
    """Samples of ``generator`` as float32 on the CPU: the one sampling path of the book.

    Eval mode (BatchNorm uses its running statistics), no gradients, in batches of
    ``batch_size``; the generator's train/eval mode is restored afterwards. The noise is
    ``z`` when given, else ``n`` vectors drawn by :func:`draw_latent` (N(0, I), or U(-1, 1)
    for the authors' generator) with ``seed`` (None: the global random state).
    """
    device = device or next(generator.parameters()).device
    if z is None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive number of samples, got {n!r}")
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        z = draw_latent(generator, n, rng=g)
    was_training = generator.training
    generator.eval()
    try:
        with autocast():
            out = [
                generator(z[i : i + batch_size].to(device)).float().cpu()
                for i in range(0, len(z), batch_size)
            ]
    finally:
        generator.train(was_training)
    return torch.cat(out)
