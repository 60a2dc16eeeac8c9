"""What a training run records and who hears of it: its :class:`History` (losses, D(x),
D(G(z)), gradient norms and sample grids of one fixed noise batch, step by step) and the
:class:`Callback` hooks the trainer calls, among them :class:`CheckpointEvery` and
:class:`UpdateSizes` (how far each optimiser step moved the weights).

At run time nothing here imports the rest of dcgan_lib: callbacks receive the trainer as
an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # only type checkers run this import, so it makes no import cycle
    from .train import Trainer

__all__ = [
    "STATS",
    "History",
    "NonFiniteLossError",
    "Callback",
    "CheckpointEvery",
    "UpdateSizes",
    "to_uint8",
]

STATS = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")


@dataclass
class History:
    """What happened during training, one entry per generator step.

    ``d_real`` and ``d_fake`` are the mean D(x) and D(G(z)) (probabilities) seen by the
    discriminator step; ``samples`` are uint8 grids of the fixed noise batch, taken at
    ``sample_steps``; ``time`` is seconds since training started.
    """

    step: list = field(default_factory=list)
    loss_d: list = field(default_factory=list)
    loss_g: list = field(default_factory=list)
    d_real: list = field(default_factory=list)
    d_fake: list = field(default_factory=list)
    grad_norm_d: list = field(default_factory=list)
    grad_norm_g: list = field(default_factory=list)
    time: list = field(default_factory=list)
    sample_steps: list = field(default_factory=list)
    samples: list = field(default_factory=list)  # uint8 tensors (n, C, H, W) or float (n, 2) points

    def __len__(self):
        return len(self.step)

    def to_dict(self) -> dict:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{f.name: list(d.get(f.name, [])) for f in fields(cls)})

    def images(self, i: int = -1) -> torch.Tensor:
        """Sample grid ``i`` as float images in [-1, 1]."""
        s = self.samples[i]
        return s.float() / 127.5 - 1 if s.dtype == torch.uint8 else s


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stopped."""


class Callback:
    """Hooks the trainer calls; override what you need."""

    def on_step_end(self, trainer: Trainer) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


class CheckpointEvery(Callback):
    """Write a checkpoint every ``every`` steps and at the end (atomically; rank 0 only).

    ``meta``: how the run was made (command, dataset, hardware...), stored in every
    checkpoint with the wall time trained so far.
    """

    def __init__(self, path, every: int = 500, meta: dict | None = None):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"checkpoint every must be a positive number of steps, got {every!r}")
        self.path, self.every, self.meta = path, every, dict(meta or {})

    def on_step_end(self, trainer):
        if trainer.step % self.every == 0:
            trainer.save(self.path, **self.meta, wall_time_s=trainer.elapsed)

    def on_train_end(self, trainer):
        trainer.save(self.path, **self.meta, wall_time_s=trainer.elapsed)


def _flat_parameters(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).float().cpu() for p in model.parameters()])


class UpdateSizes(Callback):
    """How far each training step moved the weights: ``g[t]`` and ``d[t]`` are
    ||theta_after - theta_before|| over all parameters of G and of D for step t + 1 (D's
    ``d_steps`` updates together). These are the optimiser's actual steps: Adam divides each
    gradient by its own running size, so they follow the gradient norms only loosely.

    Give it the two models before training starts (it copies their weights then).
    """

    def __init__(self, generator: torch.nn.Module, discriminator: torch.nn.Module):
        self.g: list[float] = []
        self.d: list[float] = []
        self._last = {"g": _flat_parameters(generator), "d": _flat_parameters(discriminator)}

    def on_step_end(self, trainer):
        for name, model, sizes in (("g", trainer.G, self.g), ("d", trainer.D, self.d)):
            now = _flat_parameters(model)
            sizes.append(float(torch.linalg.vector_norm(now - self._last[name])))
            self._last[name] = now
