"""The machine a run uses: choosing the device, describing the hardware, what it supports.

* :func:`resolve_device` turns ``"auto"`` (cuda, then mps, then cpu) or a name into a
  ``torch.device``, with a one-line error for a device that is not there;
* :func:`hardware` describes it in a few words, for checkpoints and benchmark tables;
* :func:`supports_bf16` / :func:`supports_tf32` say what the device can do, and
  :func:`autocast_dtype` turns that into the mixed-precision policy (by default bf16 on
  GPUs that support it, fp16 on older CUDA GPUs, fp32 elsewhere);
* :func:`enable_gpu_switches` sets the global CUDA switches (TF32, cuDNN autotuning);
* :func:`dense_peak_flops` is a GPU's dense (no sparsity) peak from its datasheet, the
  yardstick of the throughput benchmark's "fraction of peak";
* :func:`network_available` says whether a host answers (downloads are tried only then);
* :func:`init_distributed` joins the process group ``torchrun`` sets up (NCCL on GPUs,
  gloo on CPUs) and picks this process's device.

Nothing here imports the rest of dcgan_lib.
"""

from __future__ import annotations

import os
import platform
import socket
import threading
from pathlib import Path

import torch
import torch.distributed as dist

__all__ = [
    "resolve_device",
    "hardware",
    "cpu_name",
    "cpu_has_amx_bf16",
    "supports_bf16",
    "supports_tf32",
    "autocast_dtype",
    "enable_gpu_switches",
    "dense_peak_flops",
    "init_distributed",
    "network_available",
    "process_alive",
]

NETWORK_TIMEOUT = 3.0  # seconds; a missing dataset or weights file must fail fast offline


def resolve_device(device="auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; anything else is passed to torch.device."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but no CUDA GPU is available; use device='auto' or 'cpu'"
        )
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.type == "cuda" and device.index is not None and device.index >= count:
        raise ValueError(
            f"device {str(device)!r} was asked for but this machine has {count} CUDA GPU(s) "
            f"(cuda:0 to cuda:{count - 1}); use 'cuda' or 'auto'"
        )
    if device.type == "mps" and not getattr(torch.backends, "mps", None):
        raise ValueError("device 'mps' was asked for but this PyTorch has no MPS support")
    return device


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_has_amx_bf16() -> bool:
    """Whether this CPU has bf16 matrix units (Intel AMX), where bf16 autocast pays off."""
    return "amx_bf16" in _cpuinfo()


def hardware(device) -> str:
    """A short description of the machine a run used, for the checkpoint's record."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return f"{platform.machine()} Apple GPU (MPS)"
    return f"{cpu_name()}, {torch.get_num_threads()} threads"


def supports_bf16(device) -> bool:
    """Fast bf16 arithmetic: CUDA GPUs of compute capability 8.0 or newer (A100, H100,
    RTX 30xx...; not the T4 or V100), or a CPU with AMX bf16 units."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "cpu":
        return cpu_has_amx_bf16()
    return False


def supports_tf32(device) -> bool:
    """TF32 tensor cores for fp32 matrix products: CUDA compute capability 8.0 or newer."""
    device = torch.device(device)
    return device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0)


def autocast_dtype(device, amp: bool | None = None) -> torch.dtype | None:
    """The dtype of a run's autocast, or None for plain fp32.

    ``amp=None`` chooses by capability: bf16 on CUDA GPUs with bf16 support, fp16 on older
    CUDA GPUs (a T4, a V100: the trainer adds a gradient scaler), fp32 elsewhere.
    ``amp=True`` asks for mixed precision: bf16 on a CPU (only one with AMX units runs it
    fast) or a bf16 GPU, fp16 on an older CUDA GPU; a one-line reason where there is none
    (MPS). ``False`` is fp32.
    """
    device = torch.device(device)
    if amp is not None and not amp:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if supports_bf16(device) else torch.float16
    if amp is None:
        return None
    if device.type == "cpu":
        return torch.bfloat16
    raise ValueError(
        f"mixed precision was asked for, but {hardware(device)} has no bf16 or fp16 autocast "
        "here; train without --amp (fp32)"
    )


def enable_gpu_switches(device) -> None:
    """TF32 matrix products and cuDNN autotuning on CUDA (fixed shapes: the fastest
    convolution algorithm is found once). Global switches; a no-op elsewhere."""
    if torch.device(device).type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True


# Dense peaks (FLOP/s, without the 2:4 sparsity NVIDIA's headline numbers assume), from
# NVIDIA's datasheets: (name fragment, {precision: peak}); "fp32" is TF32 tensor-core math on
# GPUs that have it (the trainer turns TF32 on), else plain fp32. First match wins.
DENSE_PEAKS = [
    ("H200", {"bf16": 989e12, "fp16": 989e12, "fp32": 494e12}),  # SXM: the H100 SXM's
    ("H100 PCIe", {"bf16": 756e12, "fp16": 756e12, "fp32": 378e12}),
    ("H100 NVL", {"bf16": 835e12, "fp16": 835e12, "fp32": 417e12}),
    ("H100", {"bf16": 989e12, "fp16": 989e12, "fp32": 494e12}),  # SXM5
    ("A100", {"bf16": 312e12, "fp16": 312e12, "fp32": 156e12}),
    ("L4", {"bf16": 121e12, "fp16": 121e12, "fp32": 60e12}),
    ("T4", {"fp16": 65e12, "fp32": 8.1e12}),  # no bf16; no TF32
    ("V100", {"fp16": 125e12, "fp32": 15.7e12}),  # no bf16; no TF32
]


def dense_peak_flops(device, precision: str) -> float | None:
    """The dense peak of ``device`` in FLOP/s for "bf16", "fp16" or "fp32" (TF32 where the
    GPU has it), from :data:`DENSE_PEAKS`; None for CPUs and unlisted GPUs: no number is
    guessed."""
    if precision not in ("bf16", "fp16", "fp32"):
        raise ValueError(f"precision must be 'bf16', 'fp16' or 'fp32', got {precision!r}")
    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, peaks in DENSE_PEAKS:
        if fragment in name:
            return peaks.get(precision)
    return None


def init_distributed(device="auto") -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process. Under ``torchrun`` (WORLD_SIZE > 1) it
    joins the process group, NCCL on GPUs and gloo on CPUs, and takes the GPU LOCAL_RANK;
    otherwise it is (0, 1, resolve_device(device))."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, resolve_device(device)
    if not dist.is_initialized():
        gpu = torch.cuda.is_available() and str(device) in ("auto", "cuda")
        dist.init_process_group("nccl" if gpu else "gloo")
    rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.get_backend() == "nccl":
        torch.cuda.set_device(local)
        return rank, dist.get_world_size(), torch.device("cuda", local)
    return rank, dist.get_world_size(), resolve_device(device if str(device) != "auto" else "cpu")


def network_available(host: str, port: int) -> bool:
    """Whether host:port accepts a connection within NETWORK_TIMEOUT seconds.

    The probe runs in a thread because a DNS lookup ignores socket timeouts and
    could otherwise stall an offline machine for much longer.
    """
    answered = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=NETWORK_TIMEOUT).close()
            answered.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(NETWORK_TIMEOUT)
    return bool(answered)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine (a lock or a temporary file it
    left is stale once it does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
