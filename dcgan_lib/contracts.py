"""What a training run checks of its inputs and of its own health, with one-line reasons.

* :func:`check_data_contract` -- once, when a :class:`~dcgan_lib.train.Trainer` is built:
  the data's shape matches what the models make and take (image size, channels), the
  dtype is the models' floating type, and images lie in [-1, 1] (the generator's tanh);
* :func:`loss_problem` and :func:`weight_problem` -- on the way: a loss or a weight that
  is NaN or infinite, or that has exploded past a generous limit (``LOSS_LIMIT``,
  ``WEIGHT_LIMIT``), is a diverged run; the trainer stops and never saves such a state.

Nothing here imports the rest of dcgan_lib but :mod:`dcgan_lib.models`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .models import unwrap_model

__all__ = [
    "LOSS_LIMIT",
    "WEIGHT_LIMIT",
    "model_shape",
    "check_data_contract",
    "loss_problem",
    "weight_problem",
    "stop_message",
]

# Generous: a GAN loss of 1e4 means logits of about 1e4, and DCGAN weights start at 0.02.
LOSS_LIMIT = 1e4
WEIGHT_LIMIT = 1e6
_RANGE_SLACK = 1e-3  # rounding of resized pixels


def model_shape(model: nn.Module) -> tuple | None:
    """The shape of one example a model makes or takes: (channels, size, size) for the
    DCGAN pair, ``output_shape``/``input_shape`` for the MLP pair, None when it says not."""
    inner = unwrap_model(model)
    size, channels = getattr(inner, "image_size", None), getattr(inner, "channels", None)
    if isinstance(size, int) and isinstance(channels, int):
        return (channels, size, size)
    for name in ("output_shape", "input_shape"):
        shape = getattr(inner, name, None)
        if shape is not None:
            return tuple(int(s) for s in shape)
    return None


def _sample(data) -> tuple[torch.Tensor, str]:
    """The examples to check (N, ...): the whole in-memory tensor, or a lazy set's first."""
    x = getattr(data, "x", data)
    if torch.is_tensor(x):
        if x.dim() < 2 or len(x) == 0:
            raise ValueError(
                f"the data must be a tensor of examples (N, ...), got shape {tuple(x.shape)}"
            )
        return x, "the data"
    try:
        item = x[0]
    except Exception as e:  # any failure to read the first item means the same here
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise TypeError(
            "the data must be a tensor (N, ...) or a torch Dataset of tensors; "
            f"reading its first item failed: {reason}"
        ) from None
    item = item[0] if isinstance(item, (tuple, list)) else item
    if not torch.is_tensor(item):
        raise TypeError(f"the data's items must be tensors, got {type(item).__name__}")
    return item[None], "the streamed data (first item)"


def check_data_contract(generator: nn.Module, discriminator: nn.Module, data) -> None:
    """Check that the models can use ``data`` (see the module docstring); one-line errors.

    Data holding NaN pass: the trainer's NaN guard stops at the first step that meets them
    (the book shows it). Shapes are checked only for models that say theirs."""
    x, what = _sample(data)
    made, taken = model_shape(generator), model_shape(discriminator)
    if made and taken and made != taken:
        raise ValueError(
            f"the generator makes examples of shape {made} but the discriminator takes {taken}; "
            "build both for one shape (make_pair does)"
        )
    expected, shape = taken or made, tuple(x.shape[1:])
    if expected and shape != expected:
        hint = "build the models for the data's shape, or load the data at the models' shape"
        if len(shape) == 3 == len(expected) and shape[1:] != expected[1:]:
            hint = f"load the data at image_size={expected[1]} (--image-size {expected[1]})"
        elif len(shape) == 3 == len(expected):
            hint = f"load the data with channels={expected[0]} (--channels {expected[0]})"
        raise ValueError(
            f"examples of {what} have shape {shape} but the models take {expected}: {hint}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{what} are {x.dtype}, but the models take floating images in [-1, 1]: "
            "convert uint8 pixels with x.float() / 127.5 - 1"
        )
    weight = next(iter(discriminator.parameters()), None)
    if weight is not None and x.dtype != weight.dtype:
        raise TypeError(
            f"{what} are {x.dtype} but the models' weights are {weight.dtype}: "
            f"convert the data with x.to({weight.dtype})"
        )
    if len(shape) == 3:  # images: the generator's tanh makes [-1, 1]; D must see the same
        lo, hi = (v.item() for v in torch.aminmax(x))  # NaN compares False: left to the guard
        if lo < -1 - _RANGE_SLACK or hi > 1 + _RANGE_SLACK:
            raise ValueError(
                f"{what} lie in [{lo:.4g}, {hi:.4g}] but images must lie in [-1, 1], the range "
                "of the generator's tanh: scale pixels in [0, 255] with x / 127.5 - 1, "
                "in [0, 1] with x * 2 - 1"
            )


def loss_problem(loss_d: float, loss_g: float) -> str | None:
    """What is wrong with a step's losses (non-finite, or past ``LOSS_LIMIT``), or None."""
    for role, value in (("discriminator", loss_d), ("generator", loss_g)):
        if not math.isfinite(value):
            return f"the {role} loss became {value}"
        if abs(value) > LOSS_LIMIT:
            return f"the {role} loss reached {value:.3g} (past {LOSS_LIMIT:g}): the run diverged"
    return None


def weight_problem(model: nn.Module, role: str) -> str | None:
    """What is wrong with a model's state (a non-finite parameter or buffer, or a parameter
    past ``WEIGHT_LIMIT``), or None. One host sync for the whole model."""
    inner = unwrap_model(model)
    named = [
        (name, t, is_param)
        for is_param, items in ((True, inner.named_parameters()), (False, inner.named_buffers()))
        for name, t in items
        if t.is_floating_point() and t.numel()
    ]
    if not named:
        return None
    peaks = torch.stack([t.detach().abs().amax().float() for _, t, _ in named]).cpu().tolist()
    for (name, _, is_param), peak in zip(named, peaks):
        if not math.isfinite(peak):
            return f"the {role}'s {name} holds non-finite values"
        if is_param and peak > WEIGHT_LIMIT:
            return f"the {role}'s {name} reached |w| = {peak:.3g} (past {WEIGHT_LIMIT:g})"
    return None


def stop_message(step: int, problem: str, last_checkpoint=None) -> str:
    """The one line a stopped run ends with: the step, what went wrong, what is kept."""
    if last_checkpoint is None:
        kept = "no checkpoint was written"
    else:
        kept = "the last good checkpoint, {} (step {}), is intact".format(*last_checkpoint)
    return (
        f"training stopped at step {step}: {problem}; {kept}. Lower the learning rates "
        "or check the data are finite and scaled to [-1, 1]."
    )
