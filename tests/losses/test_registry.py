"""The loss registry: names, flags, parameters, and the exact one-line errors the config layer shows."""

from __future__ import annotations

import pytest
import torch

from medseg.core.errors import ConfigError
from medseg.losses import (
    BoundaryLoss,
    DiceCELoss,
    available_losses,
    build_loss,
    check_loss,
    composite_losses,
    loss_entry,
    register_loss,
)

NAMES = [
    "boundary",
    "ce_weighted",
    "cldice",
    "dice",
    "dice_ce",
    "dice_focal",
    "dice_weighted",
    "gsl",
    "hausdorff_dt",
    "tversky",
]


def test_names_and_flags() -> None:
    assert available_losses() == NAMES
    assert [n for n in NAMES if loss_entry(n).needs_dtm] == ["boundary", "gsl", "hausdorff_dt"]
    assert composite_losses() == ["boundary", "cldice", "gsl", "hausdorff_dt"]
    assert loss_entry("tversky").params == ("alpha", "batch_dice", "beta", "include_background", "smooth")
    assert loss_entry("boundary").params == (
        "batch_dice",
        "include_background",
        "normalize_dtm",
        "region",
        "smooth",
    )
    assert loss_entry("dice_ce").summary.startswith("``weight_dice * (1 - Dice) + weight_ce * CE``")


def test_check_loss_unknown_name() -> None:
    with pytest.raises(ConfigError) as err:
        check_loss("dice_bce")
    assert str(err.value) == (
        "training.loss: unknown loss 'dice_bce'; valid: boundary, ce_weighted, cldice, dice, "
        "dice_ce, dice_focal, dice_weighted, gsl, hausdorff_dt, tversky"
    )


def test_check_loss_unknown_parameter() -> None:
    with pytest.raises(ConfigError) as err:
        check_loss("dice_focal", {"gama": 2.0})
    assert str(err.value) == (
        "training.loss_params: unknown parameter 'gama' for loss 'dice_focal'; valid: "
        "batch_dice, gamma, include_background, smooth, weight_dice, weight_focal"
    )
    with pytest.raises(ConfigError) as err:
        check_loss("dice", ["smooth"])
    assert (
        str(err.value)
        == "training.loss_params: expected a mapping of parameter names to values, got ['smooth']"
    )
    with pytest.raises(ConfigError) as err:
        check_loss("dice_ce", {"spacing": [1, 1, 1]})  # supplied by medseg, not a user parameter
    assert str(err.value).startswith(
        "training.loss_params: unknown parameter 'spacing' for loss 'dice_ce'; valid: "
    )


def test_check_loss_weighting_for_a_loss_without_alpha() -> None:
    with pytest.raises(ConfigError) as err:
        check_loss("dice_ce", {}, {"name": "linear"})
    assert str(err.value) == (
        "training.composite_weighting: loss 'dice_ce' has no alpha to schedule; "
        "composite losses: boundary, cldice, gsl, hausdorff_dt"
    )
    with pytest.raises(ConfigError, match="unknown schedule 'warm'"):
        check_loss("gsl", None, "warm")
    assert check_loss("gsl", {"region": "dice"}, "linear").name == "gsl"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("tversky", {"alpha": -1}, "training.loss_params.alpha: must be a number >= 0, got -1"),
        ("dice_focal", {"gamma": "2"}, "training.loss_params.gamma: must be a number >= 0, got '2'"),
        ("cldice", {"iterations": 2.5}, "training.loss_params.iterations: must be an integer >= 0, got 2.5"),
        ("boundary", {"region": "ce"}, "training.loss_params.region: must be one of dice, dice_ce, got 'ce'"),
        (
            "dice_weighted",
            {"weight_type": "log"},
            "training.loss_params.weight_type: must be one of frequency, square, simple, uniform, got 'log'",
        ),
        (
            "ce_weighted",
            {"class_weights": [1, -2, 1]},
            "training.loss_params.class_weights: weights must be finite numbers >= 0, got -2",
        ),
    ],
)
def test_bad_parameter_values_are_one_line_errors_at_build(
    name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        build_loss(name, out_channels=3, activation="softmax", spacing=(1.0, 1.0, 1.0), params=params)
    assert str(err.value) == message


def test_build_loss_supplies_inputs_by_name() -> None:
    loss = build_loss(
        "boundary", out_channels=3, activation="softmax", spacing=[3, 1, 1], params={"normalize_dtm": False}
    )
    assert isinstance(loss, BoundaryLoss)
    assert loss.distance_spacing == (3.0, 1.0, 1.0) and loss.normalize_dtm is False and loss.alpha == 0.5
    assert loss.__dict__["loss_name"] == "boundary"
    default = build_loss("dice_ce", out_channels=1, activation="sigmoid", spacing=(1.0, 1.0))
    assert isinstance(default, DiceCELoss) and default.activation == "sigmoid"


def test_build_loss_refuses_bad_inputs() -> None:
    with pytest.raises(ValueError, match="softmax needs at least 2 output channels"):
        build_loss("dice", out_channels=1, activation="softmax", spacing=(1.0, 1.0))
    with pytest.raises(ValueError, match="activation must be one of softmax, sigmoid"):
        build_loss("dice", out_channels=2, activation="relu", spacing=(1.0, 1.0))
    with pytest.raises(ValueError, match="spacing must hold 2 or 3 positive values"):
        build_loss("dice", out_channels=2, activation="softmax", spacing=(1.0, 0.0))


def test_loss_checks_the_call_convention() -> None:
    loss = build_loss("dice", out_channels=2, activation="sigmoid", spacing=(1.0, 1.0))
    with pytest.raises(
        ValueError, match=r"sigmoid target must have shape \(1, 2, 4, 4\), got \(1, 1, 4, 4\)"
    ):
        loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="logits have 3 channels, the loss expects 2"):
        loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    boundary = build_loss("boundary", out_channels=2, activation="softmax", spacing=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="spacing must hold 2 positive values for 2D data"):
        boundary(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4, dtype=torch.long))


def test_register_loss_refuses_duplicates_and_missing_inputs() -> None:
    with pytest.raises(ValueError, match="loss 'dice' is already registered"):
        register_loss("dice")(DiceCELoss)
    with pytest.raises(ValueError, match="must accept 'spacing'"):
        register_loss("needs_maps_without_spacing", needs_dtm=True)(DiceCELoss)
    assert "needs_maps_without_spacing" not in available_losses()
