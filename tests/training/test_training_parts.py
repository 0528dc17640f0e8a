"""Unit tests of the training parts: checkpoint state I/O, EMA, schedules (score prediction: test_score_prediction.py)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from medseg.io.state import CheckpointError, load_state, read_metadata, save_state
from medseg.training.ema import EMA
from medseg.training.rng import rng_state, set_rng_state
from medseg.training.schedulers import lr_factor


def test_state_round_trip_keeps_structure_types_and_tensors(tmp_path) -> None:
    net = nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {
        "opt": opt.state_dict(),
        "rng": rng_state(),
        "t": (1, "a", None, [2.5, math.inf]),
        "arr": np.arange(5, dtype=np.int16),
    }
    path = save_state(tmp_path / "c.safetensors", state, {"plan": "{}"})
    loaded, meta = load_state(path)
    assert meta == {"plan": "{}"}
    assert loaded["t"] == (1, "a", None, [2.5, math.inf])
    assert loaded["arr"].dtype == np.int16 and np.array_equal(loaded["arr"], np.arange(5))
    assert set(loaded["opt"]["state"]) == {0, 1}  # int keys survive
    assert torch.equal(
        loaded["opt"]["state"][0]["momentum_buffer"], opt.state_dict()["state"][0]["momentum_buffer"]
    )
    opt2 = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(loaded["opt"])


def test_rng_state_restores_every_generator(tmp_path) -> None:
    save_state(tmp_path / "r.safetensors", {"rng": rng_state()})
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(load_state(tmp_path / "r.safetensors")[0]["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_unreadable_checkpoint_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"bad\.safetensors"):
        read_metadata(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_metadata(tmp_path / "missing.safetensors")


def test_ema_is_a_true_exponential_average() -> None:
    net = nn.Linear(2, 1, bias=False)
    ema = EMA(net, decay=0.9, warmup=False)
    w0 = net.weight.detach().clone()
    expected = w0.clone()
    for step in range(5):
        with torch.no_grad():
            net.weight.add_(float(step + 1))
        ema.update(net)
        expected = 0.9 * expected + 0.1 * net.weight.detach()
    assert torch.allclose(ema.module.weight, expected, atol=1e-6)
    assert int(ema.num_updates) == 5


def test_lr_schedules() -> None:
    assert lr_factor(0, 100, "poly") == 1.0
    assert lr_factor(50, 100, "poly") == pytest.approx(0.5**0.9)
    assert lr_factor(50, 100, "cosine") == pytest.approx(0.5)
    assert lr_factor(3, 100, "constant", warmup_steps=10) == pytest.approx(0.4)
    assert lr_factor(99, 100, "constant", warmup_steps=10) == 1.0
    with pytest.raises(ValueError, match="valid: poly, cosine, constant"):
        lr_factor(0, 10, "step")  # type: ignore[arg-type]


def test_time_budget_refits_epochs_and_stretches_the_lr_schedule(tmp_path) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from resume_job import make_trainer

    from medseg.training.callbacks import TimeBudget
    from medseg.training.schedulers import LRFactor

    trainer = make_trainer(str(tmp_path), [TimeBudget(15.0)])
    now = [0.0]
    trainer.clock = lambda: now[0]
    step = trainer.train_step

    def half_second_step(batch):  # 3 steps per epoch: 1.5 s per epoch
        now[0] += 0.5
        return step(batch)

    trainer.train_step = half_second_step
    trainer.train(3)
    assert trainer.num_epochs == 10 == trainer.epoch  # 15 s budget / 1.5 s per epoch
    factor = trainer.toolbox.scheduler.lr_lambdas[0]
    assert isinstance(factor, LRFactor) and factor.total_steps == 10 * 3
    assert trainer.toolbox.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)


def test_a_run_that_slows_down_mid_way_is_refitted_to_end_within_its_budget(tmp_path) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from resume_job import make_trainer

    from medseg.training.callbacks import TimeBudget

    trainer = make_trainer(str(tmp_path), [TimeBudget(40.0)])
    now = [0.0]

    def clock() -> float:  # 2 s per epoch for the first 6 epochs, then 4 s (another job took a core)
        return now[0]

    class Tick:
        def on_epoch_start(self, t: object) -> None:
            now[0] += 2.0 if len(trainer.history) < 6 else 4.0

    trainer.clock = clock
    original = trainer._batches

    def batches():  # type: ignore[no-untyped-def]
        Tick().on_epoch_start(trainer)
        yield from original()

    trainer._batches = batches  # type: ignore[method-assign]
    trainer.train(3)
    spent = sum(row["epoch_time"] for row in trainer.history)
    assert trainer.epoch == trainer.num_epochs < 20  # 20 epochs at the first pace no longer fit
    assert 40.0 - 4.0 <= spent <= 40.0  # ends within one (slow) epoch of the budget, never after it
    factor = trainer.toolbox.scheduler.lr_lambdas[0]
    assert factor.total_steps == trainer.num_epochs * 3  # the LR schedule was re-fitted with it
