"""Learning-rate schedules stepped once per optimiser step: poly, cosine or constant, with warm-up."""

from __future__ import annotations

import math
from typing import Literal

import torch

ScheduleName = Literal["poly", "cosine", "constant"]


def lr_factor(step: int, total_steps: int, schedule: ScheduleName, warmup_steps: int = 0,
              power: float = 0.9, min_factor: float = 0.0) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    if schedule == "poly":
        factor = (1.0 - progress) ** power
    elif schedule == "cosine":
        factor = 0.5 * (1.0 + math.cos(math.pi * progress))
    elif schedule == "constant":
        factor = 1.0
    else:
        raise ValueError(f"unknown lr schedule '{schedule}' (valid: poly, cosine, constant)")
    return max(min_factor, factor)


def build_lr_scheduler(optimizer: torch.optim.Optimizer, schedule: ScheduleName, total_steps: int,
                       warmup_steps: int = 0, power: float = 0.9) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor` (its state_dict is just the step counter)."""
    if schedule not in ("poly", "cosine", "constant"):
        raise ValueError(f"unknown lr schedule '{schedule}' (valid: poly, cosine, constant)")
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, schedule, warmup_steps, power)
    )
