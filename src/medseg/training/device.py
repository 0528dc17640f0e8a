"""The device a run uses: ``auto`` (CUDA when available), ``cpu`` or ``cuda``, checked up front."""

from __future__ import annotations

import torch

from medseg.core.errors import ConfigError

#: ``layout: auto`` per device type: the layout measured fastest for training steps with an equal loss
#: curve (bench/training/bench_training_step.py, docs/benchmarks.md "Training steps")
AUTO_LAYOUT = {"cpu": "plain", "cuda": "plain"}


def resolve_layout(layout: str, device: torch.device, spatial_dims: int) -> str:
    """``plain`` or ``channels_last`` for ``training.layout`` on ``device`` (1-D/other nets: plain)."""
    if spatial_dims not in (2, 3):
        return "plain"
    if layout == "auto":
        return AUTO_LAYOUT.get(device.type, "plain")
    return layout


def resolve_device(name: str) -> torch.device:
    """The torch device for ``training.device``; asking for CUDA without a CUDA device is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"training.device = {name!r}: no CUDA device is available on this machine; "
            "valid choices here: 'auto', 'cpu'"
        )
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"training.device = {name!r} is invalid; valid choices: 'auto', 'cpu', 'cuda'"
        ) from None
