"""The ``train`` command's training flags: one per :class:`~dcgan_lib.train.TrainConfig` field.

Each flag's type and default are read from the dataclass, so a default is written once, in
the config; the command line changes two of them for a CPU (``--steps`` per dataset and
``--batch-size 64``), and says so in ``--help``. Each flag gets its check where it is
parsed (:mod:`.flags`).

The stabilisers that came after DCGAN (:mod:`dcgan_lib.stabilisers`) are flags too:
``--loss hinge`` (D's and G's hinge loss), ``--r1-gamma`` (the R1 penalty on real data),
``--ema-decay`` (a moving average of G's weights, saved beside G; ``sample --ema`` and
``export --ema`` use it), and the two time-scale update rule of Heusel et al. (2017):
D and G each with its own learning rate, ``--lr-d`` and ``--lr-g`` (DCGAN: both 2e-4;
SAGAN, Zhang et al. 2019: ``--lr-d 4e-4 --lr-g 1e-4``). ``--spectral-norm`` (a model flag
of ``train``) swaps D for the spectrally normalised one.
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import MISSING, fields

from ..runtime import COMPILE_MODES, compile_options
from ..stabilisers import LOSSES
from ..train import TrainConfig
from .flags import (
    _float,
    _typed,
    device_name,
    non_negative_int,
    positive_float,
    positive_int,
    unit_interval,
)

__all__ = ["DEFAULT_STEPS", "CLI_DEFAULTS", "TRAIN_HELP", "add_config_flags", "train_config"]

# What the command line changes of TrainConfig's defaults (the paper's), to train in a
# minute or two on 2 CPU cores; raise them on a GPU.
DEFAULT_STEPS = {"digits": 4000, "fashion-mnist": 2500, "mnist": 2500}
CLI_DEFAULTS = {"steps": 2000, "batch_size": 64}

# help for every TrainConfig field the command line offers (tests check none is missing)
TRAIN_HELP = {
    "steps": f"generator updates (default per dataset: {DEFAULT_STEPS}, else 2000)",
    "batch_size": "batch size (TrainConfig and the paper: 128)",
    "lr_g": "generator learning rate (a value other than --lr-d: the two time-scale update "
    "rule, Heusel et al. 2017)",
    "lr_d": "discriminator learning rate (TTUR: e.g. --lr-d 4e-4 --lr-g 1e-4, SAGAN's)",
    "beta1": "Adam beta1 (the paper: 0.5; 0.9 oscillates)",
    "beta2": "Adam beta2",
    "d_steps": "discriminator updates per generator update",
    "loss": "non_saturating or saturating (minimax): G's loss, D's is -V; hinge: D's and G's "
    "hinge loss (Lim & Ye 2017; Miyato et al. 2018)",
    "r1_gamma": "R1 penalty (gamma / 2) E||grad_x D(x)||^2 on real data, added to D's loss "
    "(Mescheder et al. 2018; 0: off)",
    "ema_decay": "keep a moving average of G's weights with this decay (Yazici et al. 2019; "
    "ProGAN: 0.999; 0: off)",
    "seed": "random seed (data order, noise and initial weights)",
    "device": "auto (cuda, then mps, then cpu), cuda, cuda:N, cpu, mps",
    "amp": "mixed precision (default: on CUDA: bf16, or fp16 with a gradient scaler on GPUs "
    "without bf16; the CPU stays fp32)",
    "channels_last": "channels_last memory format (default: on CUDA)",
    "compile": "wrap both models in torch.compile; optionally a mode "
    f"({', '.join(COMPILE_MODES)}) or a backend (inductor, aot_eager, eager, ...)",
    "sample_every": "steps between fixed-noise grids (0: ten per run)",
    "n_samples": "size of the fixed noise batch",
    "log_every": "steps between host syncs of the statistics (0: 1 on CPU, 50 on GPU)",
    "time_limit": "stop after this many seconds",
    "progress": "show a progress bar",
    "num_workers": "DataLoader workers for streamed datasets (default: up to 8)",
}
CHOICES = {"loss": tuple(LOSSES)}
non_negative_float = _typed(
    "non_negative_float", lambda t: _float(t, 0.0, float("inf"), "a non-negative number")
)
# the check each TrainConfig flag gets where it is parsed (the rest: choices or on/off)
TYPES = {
    "steps": positive_int,
    "batch_size": positive_int,
    "lr_g": positive_float,
    "lr_d": positive_float,
    "beta1": unit_interval,
    "beta2": unit_interval,
    "d_steps": positive_int,
    "r1_gamma": non_negative_float,
    "ema_decay": unit_interval,
    "seed": non_negative_int,
    "device": device_name,
    "sample_every": non_negative_int,
    "n_samples": positive_int,
    "log_every": non_negative_int,
    "time_limit": positive_float,
    "num_workers": non_negative_int,
}


def _compile_choice(text: str) -> str:
    """``--compile MODE_OR_BACKEND``, checked where it is parsed."""
    try:
        compile_options(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _flag(name: str) -> list[str]:
    return [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])


def add_config_flags(group, exclude=()) -> None:
    """One flag per TrainConfig field, its type and default read from the dataclass."""
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name in exclude:
            continue
        default = CLI_DEFAULTS.get(f.name, f.default if f.default is not MISSING else None)
        kind = hints[f.name]
        kwargs = {"default": default, "help": TRAIN_HELP[f.name]}
        if f.name == "compile":
            kwargs.update(nargs="?", const=True, default=False, type=_compile_choice)
            kwargs["metavar"] = "MODE_OR_BACKEND"
        elif kind in (bool, bool | None):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            base = next(t for t in typing.get_args(kind) or (kind,) if t is not type(None))
            kwargs.update(type=TYPES.get(f.name, base), choices=CHOICES.get(f.name))
        if f.name == "steps":
            kwargs["default"] = None
        group.add_argument(*_flag(f.name), dest=f.name, **kwargs)


def train_config(args) -> dict:
    """The TrainConfig keyword arguments of parsed ``train`` flags."""
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
