"""The torch device a command runs its networks on (``--device``), checked before any work starts."""

from __future__ import annotations

from typing import Any


def resolve_device(name: str) -> Any:
    """The ``torch.device`` called ``name`` ("cpu", "cuda", "cuda:1", "mps"), if this machine has it.

    Raises:
        ValueError: the name is not a torch device, or this machine has no such device (one line).
    """
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"--device {name}: not a torch device name ({error})") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"--device {name}: this machine has no CUDA device (torch {torch.__version__})")
        if device.index is not None and device.index >= count:
            raise ValueError(f"--device {name}: this machine has {count} CUDA device(s)")
        return device
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"--device {name}: the Apple MPS backend is not available here")
        return device
    raise ValueError(f"--device {name}: device type {device.type!r} is not supported (cpu, cuda, mps)")


def module_device(module: Any) -> Any:
    """The device a network's parameters live on (the CPU for a network without parameters)."""
    import torch

    return next((p.device for p in module.parameters()), torch.device("cpu"))
