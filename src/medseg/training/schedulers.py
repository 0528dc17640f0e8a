"""Learning-rate schedules stepped once per optimiser step: poly, cosine, constant or one-cycle.

``onecycle`` is Smith's one-cycle policy as ``torch.optim.lr_scheduler.OneCycleLR`` runs it: the first
``ONECYCLE_PCT`` of the steps rise from ``lr / ONECYCLE_DIV`` to ``lr`` (half a cosine), the rest fall
to ``lr / ONECYCLE_DIV / ONECYCLE_FINAL_DIV`` (half a cosine); the factors match OneCycleLR's. The others take an optional linear
warm-up first.
"""

from __future__ import annotations

import math

import torch

from medseg.core.vocab import ScheduleName, choices

ONECYCLE_PCT = 0.3
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4


def lr_factor(
    step: int,
    total_steps: int,
    schedule: ScheduleName,
    warmup_steps: int = 0,
    power: float = 0.9,
    min_factor: float = 0.0,
) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based)."""
    if schedule == "onecycle":  # the phases of torch's OneCycleLR (cosine annealing, two phases)
        first = 1.0 / ONECYCLE_DIV
        last = first / ONECYCLE_FINAL_DIV
        peak_step = ONECYCLE_PCT * total_steps - 1
        s = min(step, total_steps - 1)
        if s <= peak_step:
            fraction, start, end = s / max(peak_step, 1e-9), first, 1.0
        else:
            fraction, start, end = (s - peak_step) / max(total_steps - 1 - peak_step, 1e-9), 1.0, last
        return end + (start - end) / 2.0 * (1.0 + math.cos(math.pi * fraction))
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
        raise ValueError(f"unknown lr schedule '{schedule}' (valid: {', '.join(choices(ScheduleName))})")
    return max(min_factor, factor)


class LRFactor:
    """The :func:`lr_factor` of a schedule as a callable object.

    ``total_steps`` may be changed during training (time-budgeted runs re-fit their length after the
    first epochs); ``LambdaLR`` saves this object's attributes in its ``state_dict``, so a resumed
    run gets the same value back.
    """

    def __init__(
        self, total_steps: int, schedule: ScheduleName, warmup_steps: int = 0, power: float = 0.9
    ) -> None:
        self.total_steps = int(total_steps)
        self.schedule = schedule
        self.warmup_steps = int(warmup_steps)
        self.power = float(power)

    def __call__(self, step: int) -> float:
        """The multiplier at ``step``."""
        return lr_factor(step, self.total_steps, self.schedule, self.warmup_steps, self.power)


def build_lr_scheduler(
    optimizer: torch.optim.Optimizer,
    schedule: ScheduleName,
    total_steps: int,
    warmup_steps: int = 0,
    power: float = 0.9,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor` through an :class:`LRFactor`."""
    if schedule not in choices(ScheduleName):
        raise ValueError(f"unknown lr schedule '{schedule}' (valid: {', '.join(choices(ScheduleName))})")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, LRFactor(total_steps, schedule, warmup_steps, power))


def set_total_steps(scheduler: torch.optim.lr_scheduler.LRScheduler | None, total_steps: int) -> None:
    """Change the length of a schedule built by :func:`build_lr_scheduler` (no-op for others).

    The optimiser's learning rates are updated at once to the new schedule's value at the current
    step, so the very next optimiser step already uses them.
    """
    if not isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
        return
    for fn, group, base in zip(scheduler.lr_lambdas, scheduler.optimizer.param_groups, scheduler.base_lrs):
        if isinstance(fn, LRFactor):
            fn.total_steps = int(total_steps)
            group["lr"] = base * fn(scheduler.last_epoch)
