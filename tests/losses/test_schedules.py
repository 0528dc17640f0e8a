"""Alpha schedules at given progress points, their config errors, and composite losses following them."""

from __future__ import annotations

import math

import pytest
import torch

from medseg.core.errors import ConfigError
from medseg.losses import (
    ConstantSchedule,
    CosineSchedule,
    DeepSupervisionWrapper,
    LinearSchedule,
    ProgressAware,
    StepSchedule,
    build_loss,
    build_schedule,
    set_loss_progress,
)

# 106 epochs with the default pause of 5: the decay runs over epochs 5..105 (100 epochs).
N = 106


def test_constant() -> None:
    assert [ConstantSchedule(0.3)(e, N) for e in (0, 50, 105)] == [0.3, 0.3, 0.3]
    assert build_schedule(None) == ConstantSchedule(0.5)


def test_linear_holds_then_decays_to_the_end_value_at_the_last_epoch() -> None:
    s = LinearSchedule()
    assert [s(e, N) for e in (0, 3, 5)] == [1.0, 1.0, 1.0]
    assert s(30, N) == pytest.approx(0.75)
    assert s(55, N) == pytest.approx(0.5)
    assert s(105, N) == 0.0
    assert s(500, N) == 0.0
    rising = LinearSchedule(start_val=0.2, end_val=0.9, init_pause=0)
    assert (
        rising(0, 11) == pytest.approx(0.2) and rising(5, 11) == pytest.approx(0.55) and rising(10, 11) == 0.9
    )


def test_cosine() -> None:
    s = CosineSchedule()
    assert s(5, N) == 1.0
    assert s(30, N) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)  # 0.8536
    assert s(55, N) == pytest.approx(0.5)
    assert s(80, N) == pytest.approx((1 - math.cos(math.pi / 4)) / 2)  # 0.1464
    assert s(105, N) == pytest.approx(0.0)


def test_step_has_equal_plateaus() -> None:
    s = StepSchedule(num_steps=4)
    values = {e: s(e, N) for e in (5, 24, 25, 44, 45, 84, 85, 105)}
    assert values == {5: 1.0, 24: 1.0, 25: 0.75, 44: 0.75, 45: 0.5, 84: 0.25, 85: 0.0, 105: 0.0}
    assert StepSchedule(init_pause=0, num_steps=1)(49, 101) == 1.0
    assert StepSchedule(init_pause=0, num_steps=1)(50, 101) == 0.0


def test_short_runs_and_bad_progress() -> None:
    assert LinearSchedule(init_pause=5)(2, 3) == 1.0  # the pause outlasts the run
    assert CosineSchedule(init_pause=0)(0, 1) == 1.0
    with pytest.raises(ValueError, match="need epoch >= 0 and num_epochs >= 1"):
        LinearSchedule()(-1, 10)


def test_config_forms() -> None:
    assert build_schedule("cosine") == CosineSchedule()
    spec = {"name": "step", "params": {"start_val": 0.9, "end_val": 0.1, "init_pause": 2, "num_steps": 3}}
    assert build_schedule(spec) == StepSchedule(0.9, 0.1, 2, 3)
    assert build_schedule({"name": "linear"}) == LinearSchedule()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "exp",
            "training.composite_weighting.name: unknown schedule 'exp'; valid: constant, cosine, linear, step",
        ),
        (
            {"name": "linear", "params": {"start": 1.0}},
            "training.composite_weighting.params: unknown parameter 'start' for schedule 'linear'; "
            "valid: end_val, init_pause, start_val",
        ),
        (
            {"name": "constant", "params": {"value": 1.5}},
            "training.composite_weighting.params.value: must be a number in [0, 1], got 1.5",
        ),
        (
            {"name": "step", "params": {"num_steps": 0}},
            "training.composite_weighting.params.num_steps: must be an integer >= 1, got 0",
        ),
        (
            {"name": "cosine", "params": {"init_pause": 2.5}},
            "training.composite_weighting.params.init_pause: must be an integer >= 0, got 2.5",
        ),
        (
            {"name": "linear", "params": {"end_val": True}},
            "training.composite_weighting.params.end_val: must be a number in [0, 1], got True",
        ),
        (
            {"params": {}},
            "training.composite_weighting: missing 'name'; valid: constant, cosine, linear, step",
        ),
        (
            {"name": "linear", "every": 2},
            "training.composite_weighting: unknown key 'every'; valid: name, params",
        ),
        (
            3,
            "training.composite_weighting: expected a mapping {name, params}, a schedule name or null, got 3",
        ),
    ],
)
def test_config_errors_are_one_line(spec: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_schedule(spec)
    assert str(err.value) == message


def test_composite_loss_follows_progress_and_resumes_from_the_epoch_alone() -> None:
    target = torch.zeros(2, 1, 12, 12, dtype=torch.long)
    target[:, :, 3:9, 4:10] = 1
    logits = torch.randn(2, 2, 12, 12)
    loss = build_loss(
        "boundary",
        out_channels=2,
        activation="softmax",
        spacing=(1.0, 1.0),
        composite_weighting={"name": "linear"},
    )
    assert isinstance(loss, ProgressAware)
    for epoch, alpha in ((0, 1.0), (30, 0.75), (55, 0.5), (105, 0.0)):
        loss.set_progress(epoch, N)
        value = float(loss(logits, target))
        c = loss.last_components
        assert c["alpha"] == pytest.approx(alpha)
        assert value == pytest.approx(alpha * c["dice_loss"] + (1 - alpha) * c["boundary"], abs=1e-6)
    fresh = build_loss(
        "boundary",
        out_channels=2,
        activation="softmax",
        spacing=(1.0, 1.0),
        composite_weighting={"name": "linear"},
    )
    fresh.set_progress(55, N)  # a resumed run: no history, same alpha
    loss.set_progress(55, N)
    assert float(fresh(logits, target)) == float(loss(logits, target))


def test_progress_reaches_a_composite_loss_inside_deep_supervision() -> None:
    inner = build_loss(
        "cldice", out_channels=2, activation="softmax", spacing=(1.0, 1.0), composite_weighting="cosine"
    )
    wrapped = DeepSupervisionWrapper(inner)
    assert set_loss_progress(wrapped, 55, N) == 1
    assert inner.alpha == pytest.approx(0.5)
    plain = DeepSupervisionWrapper(
        build_loss("dice_ce", out_channels=2, activation="softmax", spacing=(1.0, 1.0))
    )
    assert set_loss_progress(plain, 55, N) == 0
    assert not isinstance(plain.loss, ProgressAware)
