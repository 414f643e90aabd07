"""Choosing the torch device of a run: ``"auto"``, ``"cpu"`` or ``"cuda"``."""

from __future__ import annotations

import torch

from dash_core.io.errors import DashInputError

__all__ = ["DEVICES", "resolve_device"]

#: Device names accepted by configs and the ``--device`` options.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; a clear error if CUDA is asked for but missing.

    Raises
    ------
    DashInputError
        ``"cuda"`` without a CUDA GPU, or an unknown name.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise DashInputError("device 'cuda' was requested but no CUDA GPU is available; use --device auto or cpu.")
    if device not in DEVICES:
        raise DashInputError(f"Unknown device {device!r}; choose auto, cpu or cuda.")
    return torch.device(device)
