"""Checks of the closing chapter (notebooks/15_after_dcgan): the hinge loss of the discriminator.

The check tries the answer on logits picked by hand, so that the right value (2.0) and the
value of every usual mistake are known and different, then on batches of different sizes,
and then looks at the gradient: zero for real logits above the margin, as the formula says.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import CheckFailed, _call, _expect, _finite, _passed, _tensor

# logits picked so that every mistake below gives its own value
_REAL = (2.0, 0.5, -1.0)  # relu(1 - l): 0, 0.5, 2    -> mean 5/6
_FAKE = (-2.0, 0.0, 1.5)  # relu(1 + l): 0, 1, 2.5    -> mean 7/6; the loss is 2


def _mistakes(r: torch.Tensor, f: torch.Tensor) -> dict[str, float]:
    """The value each usual mistake gives on (r, f), with what to tell the student."""
    return {
        "you wrote the non-saturating (binary cross-entropy) loss of DCGAN, softplus(-l) on "
        "real and softplus(l) on fake; the hinge loss is relu(1 - l) + relu(1 + l)": float(
            F.softplus(-r).mean() + F.softplus(f).mean()
        ),
        "the margin is missing: relu(1 - l) not relu(-l) on real logits, and relu(1 + l) not "
        "relu(l) on fake ones": float(F.relu(-r).mean() + F.relu(f).mean()),
        "sign of the fake term: fake logits should be pushed below -1, so the fake term is "
        "relu(1 + l(G(z))), not relu(1 - l(G(z)))": float(
            F.relu(1 - r).mean() + F.relu(1 - f).mean()
        ),
        "real and fake are swapped: the real term is relu(1 - l(x)) on the first argument, "
        "the fake term relu(1 + l(G(z))) on the second": float(
            F.relu(1 + r).mean() + F.relu(1 - f).mean()
        ),
        "the relu is missing: without max(0, .) the loss is linear, D is pushed without end "
        "(that is the Wasserstein critic's loss shifted by 2)": float(
            (1 - r).mean() + (1 + f).mean()
        ),
        "you wrote the Wasserstein critic's loss E[l(G(z))] - E[l(x)]: the hinge loss clips "
        "each term at the margin with relu(1 - l) and relu(1 + l)": float(f.mean() - r.mean()),
        "the mean is taken over the real and fake terms together (half the loss when the "
        "batches have the same size): average each term over its own batch, then add them": float(
            torch.cat([F.relu(1 - r), F.relu(1 + f)]).mean()
        ),
        "the terms are summed over the batch: take the mean of each term": float(
            F.relu(1 - r).sum() + F.relu(1 + f).sum()
        ),
    }


def _value(loss_fn, r, f, what: str) -> torch.Tensor:
    got = _tensor(_call(loss_fn, r, f, what="discriminator_loss_hinge"), what)
    _expect(got.numel() == 1, f"{what} should be one number, got shape {tuple(got.shape)}")
    _finite(got, what)
    return got


def check_hinge_discriminator_loss(discriminator_loss_hinge) -> bool:
    """`discriminator_loss_hinge(real_logits, fake_logits)`:
    E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], each expectation a mean over its batch."""
    r, f = torch.tensor(_REAL), torch.tensor(_FAKE)
    got = float(_value(discriminator_loss_hinge, r.clone(), f.clone(), "the hinge loss"))
    if abs(got - 2.0) > 1e-4:
        for message, value in _mistakes(r, f).items():
            if abs(got - value) < 1e-4:
                raise CheckFailed(f"real logits {_REAL}, fake {_FAKE} give {got:.4g}: {message}")
        raise CheckFailed(
            f"real logits {_REAL}, fake {_FAKE} give {got:.4g}, which is not the hinge loss: "
            "work out relu(1 - l) for each real logit and relu(1 + l) for each fake one by hand "
            "and compare with your code term by term"
        )
    # batches of different sizes: each term is averaged over its own batch
    r2, f2 = torch.zeros(4), torch.tensor([0.0, 3.0])  # terms: mean(1, 1, 1, 1) + mean(1, 4)
    got = float(_value(discriminator_loss_hinge, r2, f2, "the hinge loss of uneven batches"))
    if abs(got - 9 / 6) < 1e-4:
        raise CheckFailed(
            "with 4 real and 2 fake logits the loss is the mean over all 6 taken together "
            "(1.5): take the mean of the real term over the real batch and of the fake term "
            "over the fake batch, then add them (want 3.5)"
        )
    _expect(
        abs(got - 3.5) < 1e-4,
        f"4 real logits at 0 and fake logits (0, 3) should give 1 + 2.5 = 3.5, got {got:.4g}",
    )
    # the gradient: zero past the margin, -1/n for real logits below it, +1/n for fake above -1
    r, f = torch.tensor(_REAL, requires_grad=True), torch.tensor(_FAKE, requires_grad=True)
    loss = _call(discriminator_loss_hinge, r, f, what="discriminator_loss_hinge")
    _expect(
        torch.is_tensor(loss) and loss.requires_grad,
        "the hinge loss should keep the graph (no .item(), .detach() or numpy inside): a "
        "training step needs its gradient",
    )
    loss.backward()
    want_r, want_f = torch.tensor([0.0, -1 / 3, -1 / 3]), torch.tensor([0.0, 1 / 3, 1 / 3])
    _expect(
        r.grad is not None and torch.allclose(r.grad, want_r, atol=1e-5),
        f"d loss / d real logits should be {want_r.tolist()} (zero for the logit 2.0, which is "
        f"past the margin of 1), got {None if r.grad is None else r.grad.tolist()}",
    )
    _expect(
        f.grad is not None and torch.allclose(f.grad, want_f, atol=1e-5),
        f"d loss / d fake logits should be {want_f.tolist()} (zero for the logit -2.0, past "
        f"the margin), got {None if f.grad is None else f.grad.tolist()}",
    )
    return _passed("discriminator_loss_hinge")
