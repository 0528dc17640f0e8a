"""A run given a time budget ends within it (+5 %), however slow validation is; validation is held to
its share; a run that goes faster than planned is extended (not stopped early)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from medseg.training.callbacks import TimeBudget, ValidationShare
from medseg.training.callbacks.validation_share import validation_period
from medseg.training.validation import CaseResult, ValidationResult

sys.path.insert(0, str(Path(__file__).parent))
from resume_job import TinyTrainer, make_data, tiny_plan


class Clock:
    """A fake clock: training steps and validations advance it by fixed amounts."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _trainer(root: Path, clock: Clock, step_s: float, val_s: float, callbacks: list[Any]) -> TinyTrainer:
    from torch.utils.data import DataLoader

    from medseg.config import Training

    class SlowValidation(TinyTrainer):
        def train_step(self, batch: Any) -> float:
            clock.now += step_s
            return super().train_step(batch)

        def validate(self) -> ValidationResult:
            clock.now += val_s
            case = CaseResult("case", {"bright": 0.5})
            return ValidationResult(0.5, 0.1, [case], {"bright": 0.5}, {"bright": 0.5})

    loader = DataLoader(make_data(), batch_size=4, shuffle=False)
    trainer = SlowValidation(
        root,
        loader,
        ["val"],
        plan=tiny_plan(),
        training=Training(device="cpu"),
        transparency=False,
        callbacks=callbacks,
    )
    trainer.clock = clock
    return trainer


@pytest.mark.parametrize(
    ("step_s", "val_s", "budget"), [(0.5, 20.0, 300.0), (0.5, 0.1, 120.0), (2.0, 60.0, 600.0)]
)
def test_the_training_wall_time_stays_within_the_budget_with_slow_validation(
    tmp_path: Path, step_s: float, val_s: float, budget: float
) -> None:
    clock = Clock()
    trainer = _trainer(tmp_path, clock, step_s, val_s, [TimeBudget(budget), ValidationShare(0.15)])
    trainer.train(3, steps_per_epoch=3)  # first guess: 3 epochs; the budget decides
    assert clock.now <= budget * 1.05
    assert clock.now >= budget * 0.8  # and it used the budget, not a fraction of it
    validation = sum(row["val_time"] for row in trainer.history)
    training = sum(row["epoch_time"] - row["val_time"] for row in trainer.history)
    last = trainer.history[-1]["val_time"]
    # validation held to its share, apart from the first measurement and the final validation
    assert validation - last - val_s <= 0.15 / 0.85 * training + val_s


def test_a_run_faster_than_planned_is_extended_to_its_budget(tmp_path: Path) -> None:
    clock = Clock()
    trainer = _trainer(tmp_path, clock, 0.5, 0.0, [TimeBudget(30.0)])
    trainer.train(2, steps_per_epoch=3)  # planned from a pessimistic step time: 2 epochs
    assert trainer.epoch == trainer.num_epochs == 20  # 1.5 s epochs: the run grew to fill the 30 s
    assert clock.now == pytest.approx(30.0)


def test_validation_period_holds_the_share() -> None:
    assert validation_period(10.0, 1.0, 0.15) == 1  # 1 / 11 < 15 %
    assert validation_period(2.0, 5.0, 0.15) == 15  # 5 / (15 * 2 + 5) = 14.3 %
    k = validation_period(2.0, 5.0, 0.15)
    assert 5.0 / ((k - 1) * 2.0 + 5.0) > 0.15  # and no smaller period would do


def test_a_slow_first_epoch_does_not_shrink_the_schedule(tmp_path: Path) -> None:
    """Start-up makes the first epoch 4x slower; the run keeps the epochs its steady pace affords."""
    from medseg.training.callback import Callback

    clock, planned = Clock(), []

    class Record(Callback):
        def on_epoch_end(self, trainer: Any, metrics: dict[str, float]) -> None:
            planned.append(trainer.num_epochs)

    trainer = _trainer(tmp_path, clock, 0.5, 0.0, [TimeBudget(36.0), Record()])
    first = trainer.train_step

    def start_up_then_steady(batch: Any) -> float:
        if trainer.epoch == 0:
            clock.now += 1.5  # the first epoch's 3 steps take 2 s each instead of 0.5 s
        return first(batch)

    trainer.train_step = start_up_then_steady  # type: ignore[method-assign]
    trainer.train(20, steps_per_epoch=3)  # planned right for the steady pace: 6 s + 19 x 1.5 s = 34.5 s
    assert planned[0] == 20  # the first epoch's pace (6 s) would have cut the run to 6 epochs
    assert min(planned) >= 20 and trainer.epoch == 21  # 36 s hold one more 1.5 s epoch
    assert clock.now <= 36.0


@pytest.mark.parametrize("reserve", [0.0, 8.0 * 1.25])
def test_the_reserve_leaves_room_for_that_many_validations_after_the_loop(
    tmp_path: Path, reserve: float
) -> None:
    """The fold runner predicts the validation cases with 8 mirror passes after the loop: the loop
    ends early enough that 8 x 1.25 validations (a margin) at the measured pace still fit in the budget."""
    clock, budget, val_s = Clock(), 200.0, 4.0
    trainer = _trainer(tmp_path, clock, 0.5, val_s, [TimeBudget(budget, reserve_validations=reserve)])
    trainer.train(3, steps_per_epoch=3)
    after_loop = reserve * val_s
    assert clock.now + after_loop <= budget * 1.02  # the loop and the prediction fit
    # and the loop used what the reserve left it: within one epoch (1.5 s + a validation) of the end
    assert clock.now + after_loop >= budget - (1.5 + val_s) * 1.5


def test_the_reserve_is_restored_with_the_budget() -> None:
    saved = TimeBudget(100.0, reserve_validations=10.0).state_dict()
    restored = TimeBudget(1.0)
    restored.load_state_dict(saved)
    assert (restored.budget_s, restored.reserve_validations) == (100.0, 10.0)
    restored.load_state_dict({"budget_s": 50.0})  # a checkpoint from before the reserve existed
    assert restored.reserve_validations == 0.0
    with pytest.raises(ValueError, match="reserve_validations"):
        TimeBudget(10.0, reserve_validations=-1.0)


def test_time_outside_the_epochs_counts_towards_the_budget(tmp_path: Path) -> None:
    """Plots, console and checkpoints run after ``epoch_time`` is taken; the budget still holds."""
    from medseg.training.callback import Callback

    clock = Clock()

    class SlowPlots(Callback):
        def on_epoch_end(self, trainer: Any, metrics: dict[str, float]) -> None:
            clock.now += 1.0  # as long as a 2-step epoch: ignoring it would overrun the budget 1.5x

    budget = 60.0
    trainer = _trainer(tmp_path, clock, 0.5, 0.0, [SlowPlots(), TimeBudget(budget)])
    trainer.train(3, steps_per_epoch=3)
    assert budget - 2.5 <= clock.now <= budget  # within one epoch (1.5 s + 1 s) of the budget
