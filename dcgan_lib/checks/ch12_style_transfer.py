"""Checks of neural style transfer and textures (notebooks/12_style_transfer).

Each check tries the answer on inputs built so that the right value is known by hand (a
constant feature map, a stripe pattern, a checkerboard), and names the usual mistake
when the answer gives the value that mistake would give.
"""

from __future__ import annotations

import torch

from ._common import CheckFailed, _call, _close, _expect, _passed, _shape, _tensor


def _near(got: torch.Tensor, value) -> bool:
    value = torch.as_tensor(value, dtype=torch.float64)
    return got.shape == value.shape and torch.allclose(got.double(), value, rtol=1e-4, atol=1e-6)


def _gram_by_hand(features: torch.Tensor) -> torch.Tensor:
    """sum over positions of F[b, i, p] * F[b, j, p] / P, written as loops over channels."""
    b, c, h, w = features.shape
    flat = features.double().reshape(b, c, h * w)
    out = torch.empty(b, c, c, dtype=torch.float64)
    for i in range(c):
        for j in range(c):
            out[:, i, j] = (flat[:, i] * flat[:, j]).sum(-1) / (h * w)
    return out


def check_gram_matrix(gram_matrix) -> bool:
    """`gram_matrix(features)`: (B, C, H, W) -> (B, C, C), each image's channel correlations
    summed over the H*W positions and divided by H*W."""
    # 1. a constant map: every channel c at every position -> every entry c_i * c_j
    b, c, h, w = 2, 3, 4, 5
    levels = torch.tensor([1.0, 2.0, 3.0])
    constant = levels.view(1, c, 1, 1).expand(b, c, h, w).contiguous()
    got = _tensor(_call(gram_matrix, constant.clone(), what="gram_matrix"), "gram_matrix(...)")
    want = torch.outer(levels, levels).expand(b, c, c)
    if got.shape == (b, h * w, h * w) or got.shape == (h * w, h * w):
        raise CheckFailed(
            f"gram_matrix returned shape {tuple(got.shape)}: positions x positions, so the "
            "product is transposed; flatten to (B, C, H*W) and take F @ F^T (channels x channels)"
        )
    if got.shape == (c, c):
        raise CheckFailed(
            f"gram_matrix returned one ({c}, {c}) matrix for a batch of {b}: it is computed over "
            "the batch; each image needs its own Gram matrix, shape (B, C, C)"
        )
    _shape(got, (b, c, c), f"gram_matrix of a ({b}, {c}, {h}, {w}) batch")
    if _near(got, want * h * w):
        raise CheckFailed(
            "gram_matrix of a constant map is H*W times too large: divide by the number of "
            f"positions H*W ({h * w} here), so a crop and the whole texture agree"
        )
    if _near(got, want / c):
        raise CheckFailed(
            "gram_matrix is divided by C*H*W: divide by the number of positions H*W only"
        )
    _close(got, want, "gram_matrix of a constant map with channels 1, 2, 3 (want c_i * c_j)")
    # 2. two different images in one batch: no mixing between them
    g = torch.Generator().manual_seed(12)
    features = torch.randn(2, 4, 6, 6, generator=g)
    features[1] *= 3
    got = _tensor(_call(gram_matrix, features.clone(), what="gram_matrix"), "gram_matrix(...)")
    _shape(got, (2, 4, 4), "gram_matrix of a (2, 4, 6, 6) batch")
    want = _gram_by_hand(features)
    if _near(got, want.mean(0, keepdim=True).expand(2, 4, 4)):
        raise CheckFailed(
            "gram_matrix averages the batch: both images got the same matrix; keep the batch "
            "dimension (flatten to (B, C, H*W) and use a batched matrix product)"
        )
    _close(got, want, "gram_matrix of two random feature maps", atol=1e-4)
    # 3. positions do not matter: shuffling them leaves the Gram matrix unchanged
    shuffled = features.reshape(2, 4, 36)[..., torch.randperm(36, generator=g)].reshape(2, 4, 6, 6)
    again = _tensor(_call(gram_matrix, shuffled, what="gram_matrix"), "gram_matrix(...)")
    _close(again, got, "gram_matrix after shuffling the positions (it should not change)", 1e-4)
    return _passed("gram_matrix")


def check_total_variation_loss(total_variation_loss) -> bool:
    """`total_variation_loss(images)`: mean squared difference of vertical neighbours plus
    mean squared difference of horizontal neighbours, for (B, C, H, W) images."""

    def tv(x, what):
        got = _tensor(_call(total_variation_loss, x, what="total_variation_loss"), what)
        _expect(got.numel() == 1, f"{what} should be one number, got shape {tuple(got.shape)}")
        return float(got)

    flat = torch.full((2, 3, 8, 8), 0.3)
    _expect(abs(tv(flat, "tv of a flat image")) < 1e-6, "a flat image should have TV loss 0")
    steps = torch.arange(8.0) * 0.5  # neighbours differ by 0.5: squared 0.25
    columns = steps.view(1, 1, 1, 8).expand(2, 3, 8, 8).contiguous()  # varies left to right
    rows = columns.transpose(-1, -2).contiguous()  # varies top to bottom
    along_w, along_h = tv(columns, "tv of columns"), tv(rows, "tv of rows")
    for got, name in ((along_w, "left to right"), (along_h, "top to bottom")):
        if abs(got) < 1e-6:
            raise CheckFailed(
                f"an image that changes only from {name} has TV loss 0: a direction is missing; "
                "add both the vertical (x[..., 1:, :] - x[..., :-1, :]) and the horizontal "
                "(x[..., :, 1:] - x[..., :, :-1]) differences"
            )
        if abs(got - 0.5) < 1e-4:
            raise CheckFailed(
                f"on a ramp whose neighbours differ by 0.5 the TV loss is {got:.4g}: absolute "
                "differences; square them (want 0.25)"
            )
    _expect(
        abs(along_w - along_h) < 1e-5,
        f"the same ramp along the width and the height gives {along_w:.4g} and {along_h:.4g}: "
        "the two directions must count alike",
    )
    if abs(along_w - 0.25 * 7 * 8 * 6) < 1e-3 or abs(along_w - 0.25 * 7 / 8) < 1e-4:
        raise CheckFailed(
            f"on a ramp whose neighbours differ by 0.5 the TV loss is {along_w:.4g}: take the "
            "mean over all neighbour pairs, not the sum (want 0.25)"
        )
    _close(along_w, 0.25, "tv of a ramp whose neighbours differ by 0.5")
    checker = (torch.arange(8).view(8, 1) + torch.arange(8).view(1, 8)) % 2 * 2.0 - 1
    _close(tv(checker.expand(1, 3, 8, 8), "tv of a checkerboard"), 8.0, "tv of a +-1 checkerboard")
    return _passed("total_variation_loss")


def _run(fn, *args, what: str):
    """Call an answer; a shape error inside it becomes a failed check that says so."""
    try:
        return _call(fn, *args, what=what)
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[0]
        raise CheckFailed(
            f"{what} raised RuntimeError ({reason}): compare the Gram matrix of each layer's "
            "features, gram_matrix(features[layer]), with that layer's target Gram matrix"
        ) from None


def check_style_loss(style_loss) -> bool:
    """`style_loss(features, target_grams, weights)`: sum over the layers of target_grams of
    weights[layer] * mean((gram_matrix(features[layer]) - target_grams[layer])^2)."""
    g = torch.Generator().manual_seed(3)
    features = {
        "a": torch.randn(1, 2, 4, 4, generator=g),
        "b": torch.randn(1, 3, 2, 2, generator=g),
        "c": torch.randn(1, 4, 2, 2, generator=g),  # not a style layer: must be ignored
    }
    grams = {k: _gram_by_hand(v) for k, v in features.items()}
    targets = {"a": grams["a"] + 0.5, "b": grams["b"] - 1.0}  # per-entry gaps 0.5 and 1
    weights = {"a": 2.0, "b": 3.0}
    want = 2.0 * 0.25 + 3.0 * 1.0
    args = ({k: v.clone() for k, v in features.items()}, targets, weights)
    got = _tensor(_run(style_loss, *args, what="style_loss"), "style_loss(...)")
    _expect(got.numel() == 1, f"style_loss should be one number, got shape {tuple(got.shape)}")
    got = float(got)
    if abs(got - want) < 1e-4:
        own = {k: grams[k] for k in "ab"}
        same = float(_run(style_loss, features, own, weights, what="style_loss"))
        _expect(abs(same) < 1e-6, f"style_loss of features against their own Grams is {same:.3g}")
        return _passed("style_loss")
    hints = {
        0.25 + 1.0: "the layer weights are not applied",
        2.0 * 0.25: "only the first layer is counted",
        3.0 * 1.0: "only the last layer is counted",
        2.0 * 0.25 * 4 + 3.0 * 1.0 * 9: "it sums the squared differences: take their mean",
        2.0 * 0.5 + 3.0 * 1.0: "it uses absolute differences: square them",
    }
    for value, hint in hints.items():
        if abs(got - value) < 1e-4:
            raise CheckFailed(f"style_loss: expected {want:.4g}, got {got:.4g}; {hint}")
    raise CheckFailed(
        f"style_loss: expected {want:.4g}, got {got:.4g}; compare the Gram matrices of the "
        "features (gram_matrix(features[layer])) with the targets, not the features themselves"
    )


def check_content_loss(content_loss) -> bool:
    """`content_loss(features, targets, layer)`: mean((features[layer] - targets[layer])^2),
    the content term at the one layer named, for dicts of (B, C, H, W) feature maps."""
    g = torch.Generator().manual_seed(5)
    shapes = {"shallow": (1, 2, 8, 8), "middle": (1, 4, 4, 4), "deep": (1, 8, 2, 2)}
    targets = {k: torch.randn(s, generator=g) for k, s in shapes.items()}
    gaps = {"shallow": 3.0, "middle": 0.5, "deep": 2.0}  # squared: 9, 0.25, 4
    features = {k: targets[k] + gaps[k] for k in shapes}
    for layer in ("middle", "deep"):
        args = ({k: v.clone() for k, v in features.items()}, targets, layer)
        got = _tensor(_run(content_loss, *args, what="content_loss"), "content_loss(...)")
        _expect(got.numel() == 1, f"content_loss should be one number, got {tuple(got.shape)}")
        got, want = float(got), gaps[layer] ** 2
        if abs(got - want) < 1e-4:
            continue
        wrong = {k: v**2 for k, v in gaps.items() if k != layer}
        hints = [
            f"it used the layer {k!r}, not {layer!r}"
            for k, v in wrong.items()
            if abs(got - v) < 1e-4
        ]
        if abs(got - sum(v**2 for v in gaps.values())) < 1e-4:
            hints.append("it adds up every layer: the content term uses only the layer named")
        if abs(got - want * features[layer].numel()) < 1e-3:
            hints.append("it sums the squared differences: take their mean")
        if abs(got - gaps[layer]) < 1e-4:
            hints.append("it uses absolute differences: square them")
        hint = hints[0] if hints else "compare features[layer] with targets[layer]"
        raise CheckFailed(
            f"content_loss at layer {layer!r}: expected {want:.4g}, got {got:.4g}; {hint}"
        )
    return _passed("content_loss")
