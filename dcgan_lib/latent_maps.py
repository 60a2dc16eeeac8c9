"""The feature maps of a generator's hidden layer, and the DCGAN paper's "forgetting"
experiment (Radford et al. 2016, section 6.3.1), with a classifier in place of the paper's
hand-drawn window boxes.

:func:`hidden_layers` lists a generator's hidden activations; :func:`map_activations`
records the spatial mean of each feature map of one of them; :func:`class_feature_maps`
ranks the maps by how much more they fire on samples of one class; :func:`drop_feature_maps`
zeroes chosen maps while a ``with`` block runs; :func:`forgetting` puts these together and
compares with dropping as many random maps.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from .latent import _classifier, class_latents
from .models import draw_latent, sample_generator, unwrap_model

__all__ = [
    "hidden_layers",
    "map_activations",
    "class_feature_maps",
    "drop_feature_maps",
    "forgetting",
]


def hidden_layers(generator: nn.Module) -> list[nn.Module]:
    """The generator's hidden activations (ReLU or LeakyReLU modules) in forward order; the
    feature maps of layer i are that module's output."""
    found = [m for m in unwrap_model(generator).modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    if not found:
        raise ValueError(f"{type(generator).__name__} has no ReLU or LeakyReLU layer to probe")
    return found


def _layer(generator: nn.Module, layer: int) -> nn.Module:
    layers = hidden_layers(generator)
    if (
        isinstance(layer, bool)
        or not isinstance(layer, int)
        or not -len(layers) <= layer < len(layers)
    ):
        raise ValueError(
            f"layer must be an int index into {len(layers)} hidden layers, got {layer!r}"
        )
    return layers[layer]


def _maps(output: torch.Tensor) -> torch.Tensor:
    if output.dim() != 4:
        raise ValueError(
            f"that hidden layer outputs shape {tuple(output.shape)}, not feature maps "
            "(B, C, H, W): choose a convolutional layer"
        )
    return output


def map_activations(generator: nn.Module, z, layer: int) -> torch.Tensor:
    """(n, C): the spatial mean of each feature map of hidden layer ``layer`` (an index into
    :func:`hidden_layers`) for the latents ``z`` (n, d)."""
    seen = []
    hook = _layer(generator, layer).register_forward_hook(
        lambda mod, inp, out: seen.append(_maps(out).mean((2, 3)).float().cpu())
    )
    try:
        sample_generator(generator, z=torch.as_tensor(z))
    finally:
        hook.remove()
    return torch.cat(seen)


def class_feature_maps(
    activations, labels, target: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` feature maps most tied to class ``target``: ranked by the standardised
    difference (mean on samples of ``target`` - mean on the rest) / pooled std of their
    activations (n, C). Returns (indices (k,), every map's score (C,))."""
    a, labels = torch.as_tensor(activations).double(), torch.as_tensor(labels)
    inside = labels == target
    if int(inside.sum()) < 2 or int((~inside).sum()) < 2:
        raise ValueError(
            f"class {target} has {int(inside.sum())} of {len(labels)} samples: need at least two "
            "inside and two outside it; draw more samples"
        )
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= a.shape[1]:
        raise ValueError(f"k must be an int from 1 to {a.shape[1]} feature maps, got {k!r}")
    x, y = a[inside], a[~inside]
    pooled = ((x.var(0) + y.var(0)) / 2).sqrt().clamp_min(1e-12)
    score = (x.mean(0) - y.mean(0)) / pooled
    return score.topk(k).indices, score.float()


@contextlib.contextmanager
def drop_feature_maps(generator: nn.Module, layer: int, maps):
    """Within the ``with`` block, the feature maps ``maps`` (channel indices) of hidden layer
    ``layer`` are zero at every position; the generator is unchanged afterwards."""
    maps = torch.as_tensor(maps, dtype=torch.long).flatten()

    def zero(module, inputs, output):
        output = _maps(output).clone()
        output[:, maps.to(output.device)] = 0
        return output

    hook = _layer(generator, layer).register_forward_hook(zero)
    try:
        yield generator
    finally:
        hook.remove()


def forgetting(
    generator: nn.Module,
    extractor,
    target: int,
    k: int = 8,
    layer: int = 1,
    n_select: int = 2000,
    n_test: int = 2000,
    random_draws: int = 5,
    seed: int = 0,
) -> dict:
    """The paper's "forgetting" experiment with a classifier: choose the ``k`` maps of hidden
    layer ``layer`` most tied to class ``target`` on ``n_select`` samples
    (:func:`class_feature_maps`), then on ``n_test`` other latents compare the fraction of
    samples classified ``target`` as drawn (``before``), with those maps dropped (``after``)
    and with ``random_draws`` sets of k random maps dropped (``random``, a list). Also gives
    each test sample's class (``classes_before``, ``classes_after``), the class histograms
    (``hist_before``, ``hist_after``) and the maps chosen."""
    extractor = _classifier(extractor)
    z_select, labels = class_latents(generator, extractor, n_select, seed)
    maps, scores = class_feature_maps(
        map_activations(generator, z_select, layer), labels, target, k
    )
    z = draw_latent(generator, n_test, rng=torch.Generator().manual_seed(seed + 1))
    n_classes = len(extractor.class_names or []) or int(labels.max()) + 1

    def classes(dropped=None) -> torch.Tensor:
        with drop_feature_maps(generator, layer, [] if dropped is None else dropped):
            return extractor.predict(sample_generator(generator, z=z))

    before, after = classes(), classes(maps)
    g = torch.Generator().manual_seed(seed + 2)
    n_maps = len(scores)
    random = [
        (classes(torch.randperm(n_maps, generator=g)[:k]) == target).double().mean().item()
        for _ in range(random_draws)
    ]
    return {
        "maps": maps,
        "scores": scores,
        "z": z,
        "before": (before == target).double().mean().item(),
        "after": (after == target).double().mean().item(),
        "random": random,
        "classes_before": before,
        "classes_after": after,
        "hist_before": torch.bincount(before, minlength=n_classes).double() / len(z),
        "hist_after": torch.bincount(after, minlength=n_classes).double() / len(z),
    }
