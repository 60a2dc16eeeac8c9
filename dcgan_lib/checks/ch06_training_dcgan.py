"""Checks of training a DCGAN (notebooks/06_training_dcgan)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ..losses import discriminator_loss
from ..models import Discriminator
from ..train import discriminator_step as library_discriminator_step
from ._common import CheckFailed, _call, _close, _expect, _finite, _passed


def _step_setup(seed: int = 0):
    """A small DCGAN discriminator, its Adam optimizer (the paper's settings), a batch of
    real and of detached fake images, and leftover gradients in D (as the generator step
    leaves them)."""
    g = torch.Generator().manual_seed(seed)
    D = Discriminator(image_size=16, channels=1, width=8)
    with torch.no_grad():
        for p in D.parameters():
            p.copy_(
                torch.randn(p.shape, generator=g) * (0.02 if p.dim() > 1 else 0.1) + (p.dim() == 1)
            )
    real = torch.rand(16, 1, 16, 16, generator=g) * 2 - 1
    fake = (torch.rand(16, 1, 16, 16, generator=g) * 2 - 1) * 0.5
    for p in D.parameters():
        p.grad = torch.randn(p.shape, generator=g)  # stale gradients from a generator step
    opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return D, opt, real, fake


def _run_d_steps(step, seed: int = 0, n: int = 2):
    """Parameters of D after ``n`` calls of ``step(D, opt, real, fake)``, and the first loss."""
    D, opt, real, fake = _step_setup(seed)
    before = copy.deepcopy(D.state_dict())
    losses = [step(D, opt, real, fake) for _ in range(n)]
    return before, D.state_dict(), losses[0], D


def _param_distance(a: dict, b: dict, before: dict, names) -> float:
    """|a - b| relative to the size of the reference update b - before."""
    num = sum(float(((a[k] - b[k]).double() ** 2).sum()) for k in names)
    den = sum(float(((b[k] - before[k]).double() ** 2).sum()) for k in names)
    return (num / max(den, 1e-30)) ** 0.5


def _library_step(D, opt, real, fake):
    return library_discriminator_step(D, opt, real, fake)[0]


def _mistaken_step(kind: str):
    """The library's discriminator step with one usual mistake: `kind` names it."""

    def step(D, opt, real, fake):
        if kind != "no_zero_grad":
            opt.zero_grad(set_to_none=True)
        if kind == "one_batch":
            logits = D(torch.cat([real, fake]))
            real_logits, fake_logits = logits[: len(real)], logits[len(real) :]
        else:
            real_logits, fake_logits = D(real), D(fake)
        if kind == "swapped":
            loss = discriminator_loss(fake_logits, real_logits)
        else:
            loss = discriminator_loss(real_logits, fake_logits)
        loss.backward()
        opt.step()
        return loss

    return step


_STEP_MISTAKES = {
    "no_zero_grad": "D's update includes gradients left over from before the step: call "
    "opt_d.zero_grad() first (backward() adds to .grad, it does not overwrite it)",
    "swapped": "D's update goes the wrong way: real images should get label 1 "
    "(loss softplus(-logit)) and fakes label 0 (loss softplus(logit))",
    "one_batch": "you passed real and fake through D as one batch: BatchNorm then normalises "
    "them together; call D(real) and D(fake) separately, as the library does",
}


def check_discriminator_step(discriminator_step) -> bool:
    """`discriminator_step(D, opt_d, real, fake)` performs one update of D, as the library's
    `dcgan_lib.discriminator_step` does: zero the gradients, D(real) and D(fake) as two
    batches, the loss softplus(-D(real)).mean() + softplus(D(fake)).mean(), backward, step.
    It may return the loss (a tensor) or a tuple starting with it."""
    before, want, _, _ = _run_d_steps(_library_step)
    names = [k for k, _ in _step_setup()[0].named_parameters()]
    _expect(
        callable(discriminator_step),
        f"discriminator_step should be a function, got {type(discriminator_step).__name__}",
    )
    try:
        _, got, got_loss, _ = _run_d_steps(discriminator_step)
    except NotImplementedError:
        raise CheckFailed(
            "discriminator_step is not written yet (it raises NotImplementedError)"
        ) from None
    for k in names:
        _finite(got[k], f"D's parameter {k} after your step")
    moved = _param_distance(got, before, before, names)
    _expect(moved > 0, "D's parameters did not change: call opt_d.step() after loss.backward()")
    if _param_distance(got, want, before, names) < 1e-3:
        if got_loss is not None:
            loss = got_loss[0] if isinstance(got_loss, (tuple, list)) else got_loss
            _expect(
                torch.is_tensor(loss) and loss.numel() == 1,
                "discriminator_step should return the loss (one number), got "
                f"{type(loss).__name__}",
            )
            value = float(loss.detach())
            _expect(
                value > 0,
                "the discriminator loss is a sum of two cross-entropies, so it is "
                f"positive; yours returned {value:.4g} (a sign flipped?)",
            )
        return _passed("discriminator_step")
    for kind, hint in _STEP_MISTAKES.items():
        _, alt, _, _ = _run_d_steps(_mistaken_step(kind))
        if _param_distance(got, alt, before, names) < 1e-3:
            raise CheckFailed(hint)
    raise CheckFailed(
        "D's parameters after two of your steps differ from the library's "
        f"(relative difference {_param_distance(got, want, before, names):.3g}): check the "
        "loss, softplus(-D(real)).mean() + softplus(D(fake)).mean(), and the order "
        "zero_grad, forward, backward, step"
    )


def _generator_loss_mistake(loss: torch.Tensor, logits: torch.Tensor) -> None:
    """Raise CheckFailed naming the mistake when `loss` is a usual wrong generator loss."""
    got = loss.detach().double()
    if torch.allclose(got, (-F.softplus(logits).mean()).double(), atol=1e-5):
        raise CheckFailed(
            "that is the saturating (minimax) loss E[log(1 - D(G(z)))]; the "
            "non-saturating one is -E[log D(G(z))]"
        )
    if torch.allclose(got, (-F.softplus(-logits).mean()).double(), atol=1e-5):
        raise CheckFailed("the sign is flipped: the generator minimises -E[log D(G(z))]")
    if torch.allclose(got, F.softplus(logits).mean().double(), atol=1e-5):
        raise CheckFailed(
            "that is -E[log(1 - D(G(z)))], the saturating loss with its sign flipped (the "
            "discriminator's loss on fakes, label 0): minimising it makes the fakes look less "
            "real; the non-saturating loss labels the fakes 1: -E[log D(G(z))] = "
            "softplus(-logits).mean()"
        )
    if torch.allclose(got, F.softplus(logits).sum().double(), atol=1e-4) or torch.allclose(
        got, -F.softplus(logits).sum().double(), atol=1e-4
    ):
        raise CheckFailed(
            "that is the saturating loss summed over the batch; the non-saturating loss is "
            "-E[log D(G(z))] = softplus(-logits).mean()"
        )
    if torch.allclose(got, F.softplus(-logits).sum().double(), atol=1e-4):
        raise CheckFailed("take the mean over the batch, not the sum")


def check_nonsaturating_generator_loss(generator_loss) -> bool:
    """`generator_loss(fake_logits)` is the non-saturating generator loss -E[log D(G(z))]
    = softplus(-logits).mean(), computed stably (finite for any logit)."""
    moderate = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0])
    extreme = torch.tensor([-200.0, -50.0, 0.0, 50.0, 200.0])
    for logits, what in ((moderate, "moderate logits"), (extreme, "logits as large as ±200")):
        x = logits.clone().requires_grad_(True)
        loss = _call(generator_loss, x, what="generator_loss")
        _expect(
            torch.is_tensor(loss),
            f"generator_loss should return a tensor, got {type(loss).__name__}",
        )
        _expect(
            loss.numel() == 1,
            "generator_loss should return one number (the mean over the batch), "
            f"got shape {tuple(loss.shape)}",
        )
        want = F.softplus(-logits).mean()
        if what == "moderate logits":
            _generator_loss_mistake(loss, logits)
        _expect(
            bool(torch.isfinite(loss.detach())),
            f"for {what} the loss is {float(loss.detach()):.4g}: sigmoid(l) rounds to 0 for very "
            "negative l and its log is -inf; use F.softplus(-l) (or -F.logsigmoid(l)), which "
            "stays finite",
        )
        _close(loss.detach(), want, f"generator_loss for {what}", atol=1e-4, rtol=1e-5)
        _expect(
            loss.requires_grad,
            "generator_loss should keep the graph (no .item(), .detach() or numpy)",
        )
        (grad,) = torch.autograd.grad(loss, x)
        _finite(grad, f"the gradient of generator_loss for {what}")
        _close(
            grad,
            -torch.sigmoid(-logits) / len(logits),
            f"the gradient of generator_loss for {what}",
            atol=1e-5,
            rtol=1e-4,
        )
    return _passed("non-saturating generator loss")
