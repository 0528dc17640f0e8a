"""The device a run uses: ``auto`` (CUDA when available), ``cpu`` or ``cuda``, checked up front."""

from __future__ import annotations

import torch

from medseg.core.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """The torch device for ``training.device``; asking for CUDA without a CUDA device is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"training.device = {name!r}: no CUDA device is available on this machine; "
                          "valid choices here: 'auto', 'cpu'")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"training.device = {name!r} is invalid; valid choices: 'auto', 'cpu', 'cuda'") from None
