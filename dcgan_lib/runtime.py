"""The plumbing around the training step, resolved once when a Trainer is built.

* :func:`join_group` / :func:`leave_group` -- the process group under ``torchrun``: the
  trainer destroys a group only if it created it, never one its caller made;
* :func:`stop_together` -- a stop decision (the time limit) taken by all ranks at once: each
  rank's flag is all-reduced with MAX, so no rank leaves the loop while another waits in
  an all-reduce of DistributedDataParallel;
* :func:`gather_rng` / :func:`restore_rng` -- every rank's random state (torch, and CUDA
  where used) in the checkpoint, each rank restoring its own; a checkpoint of a run with
  another number of processes is refused in one line (its noise streams and data shards
  cannot be continued exactly);
* :func:`choose_precision` -- "bf16", "fp16" or "fp32" from the device's capability
  (:func:`dcgan_lib.device.autocast_dtype`), and :func:`loss_scaled`, which threads fp16's
  gradient scaler (``torch.amp.GradScaler``) through the book's unchanged step functions;
* :func:`compile_options` -- ``TrainConfig.compile`` (True, a backend or a mode) as
  ``torch.compile``'s arguments; :func:`wrap_models` applies them and DDP;
* :func:`batches` -- the batch source of a run (:mod:`.batches`): a tensor of
  ``RESIDENT_LIMIT`` bytes or more stays off a GPU (each batch is copied over), a smaller
  one moves to the training device once;
* :func:`adam_options` -- fused Adam on CUDA; :func:`frozen` -- parameters that take no
  gradient for a while (D during the generator's step).
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .batches import InMemoryBatches, StreamedBatches
from .checkpoint import CheckpointError
from .device import autocast_dtype, init_distributed

__all__ = [
    "RESIDENT_LIMIT",
    "COMPILE_MODES",
    "batches",
    "PRECISIONS",
    "join_group",
    "leave_group",
    "stop_together",
    "gather_rng",
    "restore_rng",
    "check_world_size",
    "choose_precision",
    "loss_scaled",
    "compile_options",
    "wrap_models",
    "adam_options",
    "frozen",
    "grad_norm",
]

# bytes: a tensor dataset this large stays where it is (host memory) when training on a GPU,
# and each batch is copied over; a smaller one is moved to the training device once
RESIDENT_LIMIT = 4 << 30
# torch.compile's modes; "reduce-overhead" records CUDA graphs
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


# ---------------------------------------------------------------------------------------
# The process group


def join_group(device="auto") -> tuple[int, int, torch.device, bool]:
    """(rank, world size, device, whether this call created the process group)."""
    creates = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized()
    rank, world, device = init_distributed(device)
    return rank, world, device, creates and dist.is_initialized()


def leave_group(created: bool) -> None:
    """Destroy the process group if :func:`join_group` created it (and it still exists)."""
    if created and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _flag_device(device: torch.device) -> torch.device:
    return device if dist.get_backend() == "nccl" else torch.device("cpu")


def stop_together(stop: bool, world: int, device: torch.device) -> bool:
    """True on every rank if any rank says stop (an all-reduce with MAX; free alone)."""
    if world <= 1:
        return stop
    flag = torch.tensor([int(stop)], device=_flag_device(device))
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


# ---------------------------------------------------------------------------------------
# Random states, one per rank


def _rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def gather_rng(device: torch.device, world: int) -> dict:
    """``{"world_size": W, "ranks": [state of rank 0, ...]}``, each state a dict of uint8
    tensors (loadable with ``weights_only=True``). Collective under DDP: every rank calls it."""
    mine = _rng_state(device)
    ranks = [mine]
    if world > 1:
        ranks = [None] * world
        dist.all_gather_object(ranks, mine)
    return {"world_size": world, "ranks": ranks}


def _saved_world(rng: dict) -> int:
    return int(rng.get("world_size", len(rng.get("ranks", [rng]))))  # older files: one rank


def check_world_size(rng: dict, world: int, source="checkpoint") -> None:
    """Raise :class:`CheckpointError` in one line if ``rng`` comes from another world size."""
    saved = _saved_world(rng)
    if saved != world:
        raise CheckpointError(
            f"{source} was written by a run of {saved} process(es) and this run has {world}: "
            f"an exact resume restores each process's own random state and data share, so "
            f"resume with {saved} (torchrun --nproc_per_node {saved}), or start a new run"
        )


def restore_rng(rng: dict, rank: int, world: int, device: torch.device, source="checkpoint"):
    """Set this rank's random state from ``rng`` (:func:`gather_rng`'s, or an older file's
    single state)."""
    check_world_size(rng, world, source)
    mine = rng["ranks"][rank] if "ranks" in rng else rng
    torch.set_rng_state(mine["torch"].cpu())
    if "cuda" in mine and device.type == "cuda":
        torch.cuda.set_rng_state(mine["cuda"].cpu(), device)


# ---------------------------------------------------------------------------------------
# Precision


def choose_precision(device, amp: bool | None = None) -> str:
    """ "bf16", "fp16" or "fp32": :func:`dcgan_lib.device.autocast_dtype`'s choice, named."""
    dtype = autocast_dtype(device, amp)
    return next(name for name, d in PRECISIONS.items() if d == dtype)


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``scale`` on the way back."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(scale)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved_tensors
        return grad * scale, None


class _LossScaledModel:
    """D's logits in fp32 with a gradient scaled by the scaler's factor: ``loss.backward()``
    inside the step functions then gives D's (or, through D, G's) gradients times the scale,
    as ``scaler.scale(loss).backward()`` would."""

    def __init__(self, model, scaler: torch.amp.GradScaler):
        self.model, self.scaler = model, scaler

    def __call__(self, x):
        out = self.model(x).float()  # (B,) logits; the scaled gradient is formed in fp32
        scale = self.scaler.scale(torch.ones((), device=out.device)).reshape(())
        return _ScaleGrad.apply(out, scale)


class _ScalerStep:
    """An optimizer whose ``step`` goes through the scaler: gradients unscaled in place
    (also for fused Adam, so the recorded norms are true), the step skipped if one
    overflowed, the scale updated."""

    def __init__(self, optimizer, scaler: torch.amp.GradScaler):
        self.optimizer, self.scaler = optimizer, scaler

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.scaler.unscale_(self.optimizer)
        self.scaler.step(self.optimizer)
        self.scaler.update()


def loss_scaled(scaler, d_step_model, d_for_g, opt_d, opt_g) -> tuple:
    """(D for the D step, D for the G step, opt_d, opt_g), through ``scaler`` if there is
    one (fp16) and unchanged otherwise."""
    if scaler is None:
        return d_step_model, d_for_g, opt_d, opt_g
    return (
        _LossScaledModel(d_step_model, scaler),
        _LossScaledModel(d_for_g, scaler),
        _ScalerStep(opt_d, scaler),
        _ScalerStep(opt_g, scaler),
    )


# ---------------------------------------------------------------------------------------
# Compilation, DDP, the optimizer


def _backends() -> tuple[list[str], list[str]]:
    """(every backend torch.compile takes, the ones worth naming in an error)."""
    import torch._dynamo  # seconds to import: only when a backend name is to be checked

    every = torch._dynamo.list_backends(exclude_tags=())
    return every, sorted({*torch._dynamo.list_backends(), "eager", "aot_eager"} & set(every))


def compile_options(value) -> dict | None:
    """``torch.compile``'s keyword arguments for ``TrainConfig.compile``: None for False;
    True is inductor; a mode (COMPILE_MODES) is inductor in that mode; a backend name
    (``inductor``, ``aot_eager``, ``eager``, ``cudagraphs``...) is that backend."""
    if value is None or value is False:
        return None
    if value is True:
        return {"backend": "inductor"}
    if isinstance(value, str):
        if value in COMPILE_MODES:
            return {"backend": "inductor", "mode": value}
        every, named = _backends()
        if value in every:
            return {"backend": value}
        raise ValueError(
            f"compile must be True, False, a mode ({', '.join(COMPILE_MODES)}) or a "
            f"torch.compile backend ({', '.join(named)}, ...), got {value!r}"
        )
    raise ValueError(f"compile must be True, False, a mode or a backend name, got {value!r}")


class _FreshOutputs:
    """A CUDA-graph-compiled model whose outputs are copied out of the graph's memory,
    which the next replay overwrites; each call of G starts a new replay generation."""

    def __init__(self, model, new_step: bool):
        self.model, self.new_step = model, new_step

    def __call__(self, x):
        if self.new_step:
            torch.compiler.cudagraph_mark_step_begin()
        return self.model(x).clone()


def wrap_models(G: nn.Module, D: nn.Module, world: int, device, options: dict | None):
    """(G, D as the D step calls them, D as the G step calls it): DDP-wrapped under a process
    group, compiled with ``options``. The G step's D is never DDP-wrapped: its backward
    gives D no gradients, which DDP's reducer would wait for."""
    g, d = G, D
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        g, d = DDP(G, device_ids=ids), DDP(D, device_ids=ids)
    if options is None:
        return g, d, D
    g, d = torch.compile(g, **options), torch.compile(d, **options)
    d_for_g = torch.compile(D, **options) if world > 1 else d  # alone: one compiled D for both
    if options.get("mode") == "reduce-overhead":
        g, d = _FreshOutputs(g, True), _FreshOutputs(d, False)
        d_for_g = _FreshOutputs(d_for_g, False)
    return g, d, d_for_g


def batches(data, cfg, rank: int, world: int, device, memory_format=torch.preserve_format):
    """Batch ``k`` of the run for any ``k``: an in-memory tensor (on ``device`` unless it
    is ``RESIDENT_LIMIT`` bytes or more and ``device`` is not the CPU; then each batch is
    copied over), or a lazy dataset streamed through a DataLoader."""
    x = getattr(data, "x", data)
    if not isinstance(x, torch.Tensor):
        return StreamedBatches(x, cfg.batch_size, cfg.seed, device, cfg.num_workers, rank, world)
    if x.numel() * x.element_size() < RESIDENT_LIMIT or device.type == "cpu":
        x = x.to(device, memory_format=memory_format if x.dim() == 4 else torch.preserve_format)
    return InMemoryBatches(x, cfg.batch_size, cfg.seed, rank, world, device, memory_format)


def adam_options(device) -> dict:
    """Adam's keyword arguments for the device: the fused kernel on CUDA."""
    return {"fused": True} if torch.device(device).type == "cuda" else {}


@contextlib.contextmanager
def frozen(module: nn.Module):
    """``module``'s trainable parameters take no gradient inside the block (restored after
    it, also on an exception): a backward through it fills only its inputs' gradients."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def grad_norm(model: nn.Module) -> torch.Tensor:
    """The L2 norm of all of ``model``'s gradients together (0 when it has none)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
