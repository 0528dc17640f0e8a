"""Fit a run to a wall-clock budget: the number of epochs (and the LR schedule) follow the real pace.

After each epoch the remaining budget is divided by the measured cost of an epoch: its training time
(the mean of the last ``RECENT_EPOCHS`` epochs, so a machine that slows down or speeds up mid-run is
followed) plus validation spread over ``val_every`` epochs, keeping back one validation for the final
epoch (which always validates). The first epoch carries the start-up (loader processes, first
allocations): it counts towards the elapsed time but not towards the pace once a second epoch exists,
and it refits the run only when another epoch at its pace would not fit (on a loaded 2-core machine
its 59 s against 20-35 s later cut a demo from 19 planned epochs to 7, then it grew back to 12, with
the learning rate dragged along). The run is re-fitted after each of the first ``WARMUP_EPOCHS``
epochs, later only when the projected end is more than one epoch away from the budget, so the
schedule stays steady on a steady machine. Both directions: a run that goes faster than planned is
extended, a slower one shortened; the learning rate schedule is stretched or shrunk with it
(:meth:`Trainer.set_num_epochs`).

What an epoch's ``epoch_time`` leaves out (the epoch-end callbacks: console, plots, tracking; the
checkpoints) is counted too, from the wall clock since the loop started: on the 2-core CPU it was
0.37 s per epoch, 66 s of a 60-minute run, which then overran its budget by 1 %.

``reserve_validations`` keeps back that many validations' worth of time (the measured validation
time, so it follows the machine's pace) for work after the loop: the fold runner sets it to the
number of mirror-TTA passes (x a margin) so that predicting the validation cases fits the budget.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer

WARMUP_EPOCHS = 3
RECENT_EPOCHS = 5


def epoch_costs(history: list[dict[str, float]], val_every: int) -> tuple[float, float]:
    """``(training seconds per epoch, validation seconds per validation)`` from the recent history."""
    recent = (history[1:] if len(history) > 1 else history)[-RECENT_EPOCHS:]
    train = [row["epoch_time"] - row.get("val_time", 0.0) for row in recent]
    vals = [row["val_time"] for row in history if row.get("val_time", 0.0) > 0][-RECENT_EPOCHS:]
    return sum(train) / len(train), (sum(vals) / len(vals) if vals else 0.0)


class TimeBudget(Callback):
    """Keep the whole training loop within ``budget_s`` seconds (see the module docstring)."""

    def __init__(self, budget_s: float, reserve_validations: float = 0.0) -> None:
        if budget_s <= 0:
            raise ValueError(f"time budget must be positive, got {budget_s}")
        if reserve_validations < 0:
            raise ValueError(f"reserve_validations must be >= 0, got {reserve_validations}")
        self.budget_s = float(budget_s)
        self.reserve_validations = float(reserve_validations)
        self._wall_start: float | None = None  # this process's loop start, on the trainer's clock
        self._rows_at_start = 0

    @override
    def on_train_start(self, trainer: Trainer) -> None:
        self._wall_start, self._rows_at_start = trainer.clock(), len(trainer.history)

    def untimed_seconds(self, trainer: Trainer) -> tuple[float, float]:
        """``(seconds, seconds per epoch)`` of this process's loop outside the epochs' ``epoch_time``."""
        rows = trainer.history[self._rows_at_start :]
        if self._wall_start is None or not rows:
            return 0.0, 0.0
        timed = sum(row["epoch_time"] for row in rows)
        untimed = max(0.0, trainer.clock() - self._wall_start - timed)
        return untimed, untimed / len(rows)

    def fitted_epochs(self, trainer: Trainer) -> int:
        """The number of epochs that ends the run closest to, but within, the budget."""
        untimed, untimed_per_epoch = self.untimed_seconds(trainer)
        elapsed = sum(row["epoch_time"] for row in trainer.history) + untimed
        train, val = epoch_costs(trainer.history, trainer.val_every)
        per_epoch = max(train + val / max(1, trainer.val_every) + untimed_per_epoch, 1e-9)
        remaining = self.budget_s - elapsed - val * (1.0 + self.reserve_validations)
        return trainer.epoch + max(0, math.floor(remaining / per_epoch))

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.epoch == 0 or trainer.stop_requested:
            return
        fitted = self.fitted_epochs(trainer)
        if trainer.epoch == 1 and fitted > trainer.epoch:
            return  # the first epoch's pace includes the start-up: judge from the second
        if trainer.epoch > WARMUP_EPOCHS:
            train, val = epoch_costs(trainer.history, trainer.val_every)
            per_epoch = train + val / max(1, trainer.val_every)
            if abs(fitted - trainer.num_epochs) * per_epoch <= per_epoch:
                return
        fitted = max(fitted, trainer.epoch)
        if fitted != trainer.num_epochs:
            trainer.logger.info(
                "time budget %.0f s: %d -> %d epochs", self.budget_s, trainer.num_epochs, fitted
            )
            trainer.set_num_epochs(fitted)
        if fitted <= trainer.epoch:
            trainer.stop_requested = True

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"budget_s": self.budget_s, "reserve_validations": self.reserve_validations}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.budget_s = float(state["budget_s"])
        self.reserve_validations = float(state.get("reserve_validations", 0.0))  # older checkpoints
