"""Device selection (auto: CUDA, then Apple MPS, then CPU) and the mixed-precision policy per device."""

from __future__ import annotations

import torch

from unet_core.errors import MaskloopError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(name: str = "auto") -> torch.device:
    """The torch device for a user's choice; an unavailable explicit choice is a clear error."""
    key = (name or "auto").lower()
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if key.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MaskloopError(f"device {name!r} requested but CUDA is not available on this machine; use --device cpu")
        return torch.device(key)
    if key == "mps":
        if not _mps_available():
            raise MaskloopError("device 'mps' requested but Apple MPS is not available; use --device cpu")
        return torch.device("mps")
    if key == "cpu":
        return torch.device("cpu")
    raise MaskloopError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")


def autocast_dtype(device: torch.device, enabled: bool | None = None) -> torch.dtype | None:
    """The autocast dtype for ``device`` (bf16 where supported, else fp16 on CUDA); ``None`` = fp32.

    ``enabled=None`` means automatic: mixed precision on CUDA only.
    """
    if enabled is False or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def describe_device(device: torch.device) -> str:
    """A short human-readable name, e.g. ``cuda (NVIDIA H100)`` or ``cpu (2 threads)``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n != 1 else ''})"
    return device.type
