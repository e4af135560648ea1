"""Device and dtype choice, with the reason for each choice kept for `tandem doctor` and logs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from models.errors import DeviceError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Placement:
    device: torch.device
    dtype: torch.dtype
    reason: str


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve_device(requested: str) -> tuple[torch.device, str]:
    """Turn a `device` setting into a torch device, or explain why it cannot be used."""
    if requested == "auto":
        if torch.cuda.is_available():
            kind = "ROCm" if torch.version.hip else "CUDA"
            return torch.device("cuda:0"), f"auto: {kind} device {torch.cuda.get_device_name(0)}"
        if _mps_available():
            return torch.device("mps"), "auto: Apple MPS"
        return torch.device("cpu"), "auto: no CUDA/ROCm/MPS device, using the CPU"
    if requested == "cpu":
        return torch.device("cpu"), "requested cpu"
    if match := re.fullmatch(r"cuda(?::(\d+))?", requested):
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None and torch.version.hip is None else "built for GPUs"
            raise DeviceError(
                f"device '{requested}' was requested but torch {torch.__version__} ({build}) sees no "
                "CUDA/ROCm device; set device to 'auto' or 'cpu', or install a GPU build of torch"
            )
        index = int(match.group(1) or 0)
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"device '{requested}' does not exist: this machine has {torch.cuda.device_count()} GPU(s)"
            )
        return torch.device(f"cuda:{index}"), f"requested {requested}"
    if requested == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' was requested but Apple MPS is not available here")
        return torch.device("mps"), "requested mps"
    if requested == "npu":
        raise DeviceError(
            "device 'npu' needs ONNX Runtime with AMD's VitisAI execution provider (Ryzen AI "
            "software), which this installation does not have; use 'auto' or 'cpu'"
        )
    raise DeviceError(f"unknown device '{requested}': use auto, cpu, cuda, cuda:N, mps or npu")


def resolve_dtype(requested: str, device: torch.device) -> tuple[torch.dtype, str]:
    if requested != "auto":
        if requested not in DTYPES:
            raise DeviceError(f"unknown dtype '{requested}': use auto, float32, bfloat16 or float16")
        return DTYPES[requested], f"requested {requested}"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, "auto: bfloat16 on GPU"
        return torch.float16, "auto: float16 (GPU lacks bfloat16)"
    if device.type == "mps":
        return torch.float16, "auto: float16 on MPS"
    # Small models on a CPU are bound by per-call overhead, and float32 keeps outputs exact.
    return torch.float32, "auto: float32 on CPU"


def resolve_placement(device: str, dtype: str) -> Placement:
    torch_device, device_reason = resolve_device(device)
    torch_dtype, dtype_reason = resolve_dtype(dtype, torch_device)
    return Placement(torch_device, torch_dtype, f"{device_reason}; {dtype_reason}")
