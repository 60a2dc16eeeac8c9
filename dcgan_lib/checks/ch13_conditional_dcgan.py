"""Checks of the conditional DCGAN (notebooks/13_conditional_dcgan): the projection
discriminator's logit.

The check tries the answer on small random features, embedding and psi values (float64,
fixed seed), so that the right logits and those of every usual mistake are known and
different, and says which mistake a wrong answer matches.
"""

from __future__ import annotations

import torch

from ._common import CheckFailed, _call, _finite, _passed, _shape, _tensor


def _inputs():
    """features (B, c), embedding (K, c), psi (B,), y (B,): labels not in order, and not all
    the same, so a row taken from the wrong class gives other numbers."""
    g = torch.Generator().manual_seed(13)
    features = torch.randn(6, 5, generator=g, dtype=torch.float64)
    embedding = torch.randn(4, 5, generator=g, dtype=torch.float64)
    psi = torch.randn(6, generator=g, dtype=torch.float64)
    y = torch.tensor([2, 0, 3, 1, 2, 0])
    return features, embedding, psi, y


def _mistakes(features, embedding, psi, y) -> dict[str, torch.Tensor]:
    """The logits each usual mistake gives, with what to tell the student."""
    e = embedding[y]
    k = len(embedding)
    return {
        "psi is missing: the logit is psi(phi(x)) + <embed(y), phi(x)>; the projection term "
        "alone drops the unconditional part": (e * features).sum(1),
        "you summed the embedding row instead of taking its inner product with the features: "
        "multiply embedding[y] by features element by element, then sum": psi + e.sum(1),
        "you added the embedding row to the features and summed: the class term is the inner "
        "product sum(embedding[y] * features), not a sum of the two": psi + (e + features).sum(1),
        "you used the wrong class's row (embedding[y + 1]): pick embedding[y], the row of each "
        "example's own class": psi + (embedding[(y + 1) % k] * features).sum(1),
        "you used the wrong class's row (embedding[y - 1]): pick embedding[y], the row of each "
        "example's own class": psi + (embedding[(y - 1) % k] * features).sum(1),
        "every example used the first example's class: pick embedding[y] row by row, "
        "embedding[y[i]] for example i": psi + (embedding[y[0]] * features).sum(1),
        "psi was multiplied by the projection term: the two terms are added": psi
        * (e * features).sum(1),
        "the projection term is subtracted: the logit is psi + <embed(y), phi(x)>": psi
        - (e * features).sum(1),
    }


def check_projection_logit(projection_logit) -> bool:
    """`projection_logit(features, embedding, psi, y)` -> logits (B,):
    psi[i] + <embedding[y[i]], features[i]>, the projection discriminator's logit (Miyato &
    Koyama 2018). features: phi(x), (B, c); embedding: the class embedding's weight, (K, c);
    psi: the unconditional logits psi(phi(x)), (B,); y: class indices, (B,)."""
    features, embedding, psi, y = _inputs()
    want = psi + (embedding[y] * features).sum(1)
    args = (features.clone(), embedding.clone(), psi.clone(), y.clone())
    got = _tensor(_call(projection_logit, *args, what="projection_logit"), "projection_logit")
    b, k = len(features), len(embedding)
    if tuple(got.shape) == (b, k):
        raise CheckFailed(
            f"projection_logit returned shape {(b, k)}, a logit for every class: that is "
            "features @ embedding.T; take each example's own class, embedding[y], and add psi"
        )
    if tuple(got.shape) == tuple(features.shape):
        raise CheckFailed(
            f"projection_logit returned shape {tuple(features.shape)}: the product "
            "embedding[y] * features still needs its sum over the feature dimension (dim 1)"
        )
    _shape(got, (b,), "projection_logit's result (one logit per example)")
    _finite(got, "projection_logit's result")
    got = got.double()
    if not torch.allclose(got, want, atol=1e-6):
        for message, value in _mistakes(features, embedding, psi, y).items():
            if torch.allclose(got, value, atol=1e-6):
                raise CheckFailed(message)
        i = int((got - want).abs().argmax())
        raise CheckFailed(
            f"logit {i} (class {int(y[i])}) should be psi[{i}] + <embedding[{int(y[i])}], "
            f"features[{i}]> = {float(want[i]):.4f}, got {float(got[i]):.4f}"
        )
    for name, original, passed in zip(("features", "embedding", "psi", "y"), _inputs(), args):
        if not torch.equal(original, passed):
            raise CheckFailed(f"projection_logit changed its input {name} in place: leave it")
    return _passed("projection_logit")
