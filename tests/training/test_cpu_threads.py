"""CpuThreads keeps the thread count whose real loop pace is faster, and restores the process's own."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from medseg.training.callbacks import CpuThreads


class FakeTrainer(SimpleNamespace):
    """What the callback reads: device, clock, epoch_info, logger."""


def _run(
    pace: dict[int, float], steps: int, callback: CpuThreads, device: str = "cpu"
) -> tuple[Any, list[int]]:
    """``steps`` steps whose duration depends on the thread count in force while each runs."""
    now = [0.0]
    trainer = FakeTrainer(
        device=torch.device(device), clock=lambda: now[0], epoch_info={}, logger=logging.getLogger("t")
    )
    used = []
    callback.on_train_start(trainer)
    callback.on_epoch_start(trainer)
    for _ in range(steps):
        threads = torch.get_num_threads()
        used.append(threads)
        now[0] += pace[threads]
        callback.on_train_batch_end(trainer, 0.0)
    return trainer, used


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("pace", "expected"), [({2: 0.55, 1: 0.44}, 1), ({2: 0.18, 1: 0.29}, 2)])
def test_the_faster_setting_of_the_real_loop_is_kept(
    two_threads: None, pace: dict[int, float], expected: int
) -> None:
    callback = CpuThreads(skip=3, pairs=6)
    trainer, used = _run(pace, 40, callback)
    assert callback.chosen == expected
    assert used[:4] == [2, 2, 2, 2]  # start-up steps are not measured
    assert sorted(set(used[4:16])) == [1, 2] and used[4:16].count(1) == 6  # alternated, 6 each
    assert set(used[17:]) == {expected}  # then the faster one for the rest of the run
    assert trainer.epoch_info["cpu_threads"] == float(expected)
    assert trainer.epoch_info["cpu_step_s_1t"] == pytest.approx(pace[1])  # both medians, visible
    assert trainer.epoch_info["cpu_step_s_2t"] == pytest.approx(pace[2])
    callback.on_train_end(trainer)
    assert torch.get_num_threads() == 2


def test_a_noisy_minority_of_steps_does_not_decide(two_threads: None) -> None:
    """Medians: two very slow 1-thread steps (a hiccup) do not make 2 threads look faster."""
    callback = CpuThreads(skip=0, pairs=6)
    now = [0.0]
    trainer = FakeTrainer(
        device=torch.device("cpu"), clock=lambda: now[0], epoch_info={}, logger=logging.getLogger("t")
    )
    callback.on_train_start(trainer)
    callback.on_epoch_start(trainer)
    ones = iter([3.0, 0.4, 0.4, 3.0, 0.4, 0.4])
    for _ in range(20):
        now[0] += next(ones, 0.4) if torch.get_num_threads() == 1 else 0.6
        callback.on_train_batch_end(trainer, 0.0)
    assert callback.chosen == 1


def test_a_given_number_is_used_and_nothing_is_measured(two_threads: None) -> None:
    callback = CpuThreads(threads=1)
    _, used = _run({1: 1.0, 2: 0.1}, 10, callback)
    assert used == [1] * 10 and callback.paces == {}
    callback.on_train_end(SimpleNamespace())  # type: ignore[arg-type]
    assert torch.get_num_threads() == 2


def test_not_on_an_accelerator(two_threads: None) -> None:
    callback = CpuThreads()
    trainer, used = _run({1: 0.1, 2: 1.0}, 30, callback, device="meta")
    assert used == [2] * 30 and "cpu_threads" not in trainer.epoch_info


def test_threads_are_restored_when_training_fails(two_threads: None) -> None:
    callback = CpuThreads(skip=0, pairs=50)
    trainer, used = _run({1: 0.1, 2: 0.2}, 6, callback)
    assert 1 in used
    callback.on_exception(trainer, RuntimeError("boom"))
    assert torch.get_num_threads() == 2


def test_invalid_thread_count() -> None:
    with pytest.raises(ValueError, match="threads must be >= 1"):
        CpuThreads(threads=0)


def test_not_under_ddp(two_threads: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from medseg.training import distributed

    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    callback = CpuThreads()
    _, used = _run({1: 0.1, 2: 1.0}, 30, callback)
    assert used == [2] * 30 and callback.chosen == 2


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({}, None), ({"training.cpu_threads": 1}, 1), ({"training.deterministic": True}, "absent")],
)
def test_the_config_key_reaches_the_trainer(tmp_path: Any, overrides: dict[str, Any], expected: Any) -> None:
    """``training.cpu_threads``: auto measures, a number is set, a deterministic run keeps its threads."""
    from medseg.config import Config, apply_overrides
    from medseg.presets.pipeline import _callbacks

    found = [
        cb
        for cb in _callbacks(apply_overrides(Config(), overrides), False, tmp_path)
        if isinstance(cb, CpuThreads)
    ]
    if expected == "absent":
        assert found == []
    else:
        assert len(found) == 1 and found[0].threads == expected
