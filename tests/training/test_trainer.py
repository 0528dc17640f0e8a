"""The Trainer's lifecycle: checkpoint order, failed starts, schedule changes, metrics rows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from medseg.training import trainer as trainer_module
from medseg.training.callback import Callback
from medseg.training.validation import CaseResult, ValidationResult

sys.path.insert(0, str(Path(__file__).parent))
from resume_job import make_trainer


def _with_validation(root: Path, scores: list[float], callbacks: list[Callback] | None = None) -> Any:
    trainer = make_trainer(str(root), list(callbacks or []))
    values = iter(scores)

    def validate() -> ValidationResult:
        score = next(values)
        return ValidationResult(
            score, 1 - score, [CaseResult("c", {"bright": score})], {"bright": score}, {"bright": score}
        )

    trainer.val_data = ["case"]
    trainer.validate = validate  # type: ignore[method-assign]
    return trainer


def test_best_is_written_before_latest_and_only_when_the_score_improves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[int, str]] = []
    original = trainer_module.save_state

    def spy(path: Any, state: Any, meta: Any = None) -> Any:
        written.append((state["trainer"]["epoch"], Path(path).stem))
        return original(path, state, meta)

    monkeypatch.setattr(trainer_module, "save_state", spy)
    trainer = _with_validation(tmp_path, [0.2, 0.5, 0.4, 0.6])
    trainer.train(4)
    assert written == [
        (1, "best"),
        (1, "latest"),
        (2, "best"),
        (2, "latest"),
        (3, "latest"),
        (4, "best"),
        (4, "latest"),
    ]
    assert trainer.best_epoch == 4 and trainer.best_score == pytest.approx(0.6)  # epochs count from 1


def test_a_failure_before_the_first_checkpoint_removes_the_folder_and_a_later_one_keeps_it(
    tmp_path: Path,
) -> None:
    class Boom(Callback):
        def __init__(self, at: int) -> None:
            self.at = at

        def on_train_batch_end(self, trainer: Any, loss: float) -> None:
            if trainer.epoch == self.at:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        make_trainer(str(tmp_path / "a"), [Boom(0)]).train(3)
    assert not list((tmp_path / "a" / "TinyTrainer").iterdir())
    with pytest.raises(RuntimeError, match="boom"):
        make_trainer(str(tmp_path / "b"), [Boom(1)]).train(3)
    (kept,) = list((tmp_path / "b" / "TinyTrainer").iterdir())
    assert (kept / "checkpoints" / "latest.safetensors").is_file()


def test_set_num_epochs_moves_the_learning_rate_to_the_new_schedule_at_once(tmp_path: Path) -> None:
    trainer = make_trainer(str(tmp_path), [])
    trainer.train(2)  # 3 steps per epoch, poly to 0
    assert trainer.toolbox.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    trainer.set_num_epochs(4)
    expected = 1e-2 * (1 - 6 / 12) ** 0.9
    assert trainer.toolbox.optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    assert trainer.train_kwargs["num_epochs"] == 4
    trainer.set_num_epochs(1)  # never below the epochs already run
    assert trainer.num_epochs == 2


def test_rows_hold_validation_time_and_what_callbacks_add(tmp_path: Path) -> None:
    class Tag(Callback):
        def on_epoch_start(self, trainer: Any) -> None:
            trainer.epoch_info["tag"] = float(trainer.epoch * 10)

    trainer = _with_validation(tmp_path, [0.1, 0.2], [Tag()])
    trainer.train(2)
    assert [row["tag"] for row in trainer.history] == [0.0, 10.0]
    assert all(row["val_time"] >= 0 for row in trainer.history)
    assert all(row["epoch_time"] >= row["val_time"] for row in trainer.history)
    assert [row["val_score"] for row in trainer.history] == [0.1, 0.2]


def test_the_checkpoint_holds_the_plan_and_the_plain_network(tmp_path: Path) -> None:
    from medseg.io.state import load_state

    trainer = make_trainer(str(tmp_path), [])
    folder = trainer.train(1)
    state, meta = load_state(folder.checkpoint("latest"))
    assert meta["format"] == trainer_module.CHECKPOINT_FORMAT and "plan" in meta and "network" not in meta
    net = trainer.toolbox.eval_network()
    assert state["weights"].keys() == net.state_dict().keys()
    for key, value in net.state_dict().items():
        assert torch.equal(state["weights"][key], value)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed raise
def test_a_sigterm_swallowed_by_a_finaliser_still_stops_training_at_the_next_step(
    tmp_path: Path,
) -> None:
    """CI saw this: the handler's KeyboardInterrupt raised inside a weakref callback was printed as
    "Exception ignored" and the run trained on to its last epoch; the next step must stop it."""
    import gc
    import os
    import signal

    from medseg.core import termination

    class SignalsInFinaliser:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, and its raise is dropped
            sum(range(1000))

    class Drop(Callback):
        def on_train_batch_end(self, trainer: Any, loss: float) -> None:
            if trainer.epoch == 1 and not termination.requested():
                SignalsInFinaliser()
                gc.collect()

    previous = signal.signal(signal.SIGTERM, termination.request)
    trainer = make_trainer(str(tmp_path), [Drop()])
    try:
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            trainer.train(4)
        assert termination.requested()
    finally:
        termination.clear()
        signal.signal(signal.SIGTERM, previous)
    assert trainer.epoch == 1  # stopped inside epoch 2, not trained on to epoch 4
