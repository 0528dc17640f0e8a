"""Hold validation to a share of the training time: validate every k-th epoch, k from the measured cost.

Whole-case sliding-window validation can cost more than the training epoch it checks (42 hippocampus
cases: ~5 s of a 7.4 s epoch on a 2-core CPU). After each validation, ``val_every`` becomes the smallest
period for which ``validation / (val_every x training + validation) <= max_share``. The final epoch
always validates (the trainer's rule), so the best checkpoint never misses the end of the run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback
from medseg.training.callbacks.time_budget import epoch_costs

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer

DEFAULT_MAX_SHARE = 0.15
MAX_PERIOD = 50


def validation_period(train_s: float, val_s: float, max_share: float) -> int:
    """The smallest ``k`` with ``val_s / (k * train_s + val_s) <= max_share`` (at most ``MAX_PERIOD``)."""
    if val_s <= 0 or train_s <= 0:
        return 1
    needed = val_s * (1 - max_share) / (max_share * train_s)
    return int(min(MAX_PERIOD, max(1, math.ceil(needed - 1e-9))))


class ValidationShare(Callback):
    """Adapt ``trainer.val_every`` so validation stays within ``max_share`` of the time."""

    def __init__(self, max_share: float = DEFAULT_MAX_SHARE) -> None:
        if not 0 < max_share <= 1:
            raise ValueError(f"max_share must be in (0, 1], got {max_share}")
        self.max_share = float(max_share)

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if metrics.get("val_time", 0.0) <= 0:
            return
        train, val = epoch_costs(trainer.history, trainer.val_every)
        period = validation_period(train, val, self.max_share)
        if period != trainer.val_every:
            trainer.logger.info("validation %.1f s per %.1f s epoch: every %d epoch(s)", val, train, period)
            trainer.val_every = period
            trainer.train_kwargs["val_every"] = period

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"max_share": self.max_share}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.max_share = float(state["max_share"])
