"""Looking inside a model: every layer's output shape, parameters and multiply-adds.

:func:`trace_layers` runs one batch through a model with forward hooks on its leaf layers
and returns a :class:`LayerTrace` per layer, in the order they ran; :func:`trace_stages`
groups them in stages, one per convolution (or linear layer) with the layers after it:
the rows of the architecture tables in Part II. :func:`count_flops` counts the
floating-point operations of any call, backward passes included (the throughput
benchmark's FLOPs per training step). Nothing here imports the rest of dcgan_lib.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["LayerTrace", "trace_layers", "trace_stages", "count_flops"]


@dataclass
class LayerTrace:
    """One leaf layer as a forward pass met it."""

    name: str  # its name in the model, e.g. "net.3"
    layer: str  # its class, e.g. "ConvTranspose2d"
    input_shape: tuple  # without the batch dimension
    output_shape: tuple
    parameters: int  # parameters the layer itself holds
    multiply_adds: int  # per sample: 0 for layers that only add, scale or compare


def _multiply_adds(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Multiply-adds of one sample through a linear or convolution layer."""
    if isinstance(module, nn.Linear):  # every output is a dot product of length in_features
        return y[0].numel() * module.in_features
    if isinstance(module, nn.Conv2d):  # every output pixel: a C_in/groups x kh x kw dot product
        k = module.kernel_size[0] * module.kernel_size[1]
        return y[0].numel() * module.in_channels // module.groups * k
    if isinstance(module, nn.ConvTranspose2d):  # every input pixel scatters a C_out x kh x kw patch
        k = module.kernel_size[0] * module.kernel_size[1]
        return x[0].numel() * module.out_channels // module.groups * k
    return 0


def trace_layers(model: nn.Module, x: torch.Tensor) -> list[LayerTrace]:
    """Run ``x`` through ``model`` (eval mode, no gradients; its mode is restored after)
    and return one :class:`LayerTrace` per leaf layer, in the order they ran."""
    rows, hooks = [], []
    names = {module: name for name, module in model.named_modules()}

    def record(module, inputs, output):  # returns None: a hook's result would replace the output
        x_in = inputs[0] if inputs else output
        rows.append(
            LayerTrace(
                names[module],
                type(module).__name__,
                tuple(x_in.shape[1:]),
                tuple(output.shape[1:]),
                sum(p.numel() for p in module.parameters(recurse=False)),
                _multiply_adds(module, x_in, output),
            )
        )

    for module in model.modules():
        if not list(module.children()):  # the layers themselves, not their containers
            hooks.append(module.register_forward_hook(record))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return rows


def trace_stages(model: nn.Module, x: torch.Tensor) -> list[dict]:
    """The trace grouped in stages: a stage starts at each convolution (or linear layer)
    and takes in the layers after it. One dict per stage: ``layers`` (class names),
    ``shape`` (its output, without the batch), ``parameters``, ``multiply_adds``."""
    stages = []
    for row in trace_layers(model, x):
        if not stages or row.layer in ("Conv2d", "ConvTranspose2d", "Linear"):
            stages.append({"layers": [], "shape": None, "parameters": 0, "multiply_adds": 0})
        stage = stages[-1]
        stage["layers"].append(row.layer)
        stage["shape"] = row.output_shape
        stage["parameters"] += row.parameters
        stage["multiply_adds"] += row.multiply_adds
    return stages


def count_flops(fn, *args, **kwargs) -> int:
    """Floating-point operations of ``fn(*args, **kwargs)``, counted by PyTorch's
    ``FlopCounterMode`` from the shapes of every matrix product and convolution it runs,
    forward and backward (a multiply-add is 2 FLOPs; element-wise work such as BatchNorm,
    activations and the optimizer's update is not counted: it is a few percent here)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())
