"""The device a run uses: ``auto`` (CUDA when available), ``cpu`` or ``cuda``, checked up front."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch

from medseg.core.errors import ConfigError

#: ``layout: auto`` per device type: the layout measured fastest for training steps with an equal loss
#: curve (bench/training/bench_training_step.py, docs/benchmarks.md "Training steps")
AUTO_LAYOUT = {"cpu": "plain", "cuda": "plain"}


#: ``amp: auto`` per device type. CPU: bf16 autocast where the CPU has native bf16 (AMX or AVX512-BF16):
#: 1.52x the steps/s of fp32 on the dev CPU (AMX) with the same loss curve over 200 steps (mean of the
#: last 50 within 0.03 %, docs/benchmarks.md "Training steps"); elsewhere bf16 is emulated and slow.
#: CUDA: off until measured on a lent GPU (not run yet).
AUTO_AMP = {"cpu": "bf16", "cuda": "off"}
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@cache
def cpu_has_fast_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU computes bf16 natively (its flags name AMX-BF16 or AVX512-BF16; Linux only)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []
    )
    return any(flag in flags for flag in _BF16_FLAGS)


def resolve_amp(amp: str, device: torch.device) -> str:
    """``off``, ``fp16`` or ``bf16`` for ``training.amp`` on ``device`` (``auto``: see ``AUTO_AMP``)."""
    if amp != "auto":
        return amp
    chosen = AUTO_AMP.get(device.type, "off")
    if device.type == "cpu" and chosen == "bf16" and not cpu_has_fast_bf16():
        return "off"
    return chosen


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
