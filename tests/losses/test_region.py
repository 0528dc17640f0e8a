"""Region losses (dice, dice_ce, dice_focal, tversky) against MONAI on real hippocampus and DRIVE masks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from monai.losses import DiceCELoss as MonaiDiceCE
from monai.losses import DiceFocalLoss as MonaiDiceFocal
from monai.losses import DiceLoss as MonaiDice
from monai.losses import FocalLoss as MonaiFocal
from monai.losses import TverskyLoss as MonaiTversky

from medseg.losses import build_loss

SMOOTH = {"smooth_nr": 1e-5, "smooth_dr": 1e-5}


def _build(name: str, channels: int, activation: str, dims: int, **params: object) -> torch.nn.Module:
    return build_loss(
        name, out_channels=channels, activation=activation, spacing=(1.0,) * dims, params=params
    )


@pytest.mark.parametrize("batch_dice", [True, False])
@pytest.mark.parametrize("include_background", [False, True])
def test_dice_softmax_3d_matches_monai(
    hippo_labels: torch.Tensor,
    make_logits: Callable[..., torch.Tensor],
    batch_dice: bool,
    include_background: bool,
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    ours = _build("dice", 3, "softmax", 3, batch_dice=batch_dice, include_background=include_background)
    ref = MonaiDice(
        softmax=True, to_onehot_y=True, include_background=include_background, batch=batch_dice, **SMOOTH
    )
    assert abs(float(ours(logits, hippo_labels)) - float(ref(logits, hippo_labels))) <= 1e-5


def test_dice_sigmoid_regions_matches_monai(
    hippo_regions: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_regions, 2, "sigmoid")
    ours = _build("dice", 2, "sigmoid", 3)(logits, hippo_regions)
    ref = MonaiDice(sigmoid=True, batch=True, **SMOOTH)(logits, hippo_regions)
    assert abs(float(ours) - float(ref)) <= 1e-5


def test_dice_ce_2d_softmax_and_sigmoid_match_monai(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 2, "softmax")
    ours = _build("dice_ce", 2, "softmax", 2)(logits, drive_masks)
    ref = MonaiDiceCE(softmax=True, to_onehot_y=True, include_background=False, batch=True, **SMOOTH)
    assert abs(float(ours) - float(ref(logits, drive_masks))) <= 1e-5
    binary = make_logits(drive_masks, 1, "sigmoid")
    ours = _build("dice_ce", 1, "sigmoid", 2)(binary, drive_masks.float())
    ref = MonaiDiceCE(sigmoid=True, batch=True, **SMOOTH)(binary, drive_masks.float())
    assert abs(float(ours) - float(ref)) <= 1e-5


def test_dice_ce_sigmoid_regions_match_monai(
    hippo_regions: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    # MONAI's DiceCELoss uses a softmax CE for several channels even with sigmoid=True, so the
    # reference is its DiceLoss + torch's mean binary cross-entropy (one sigmoid per region).
    logits = make_logits(hippo_regions, 2, "sigmoid")
    loss = _build("dice_ce", 2, "sigmoid", 3, weight_ce=0.5)
    dice = MonaiDice(sigmoid=True, batch=True, **SMOOTH)(logits, hippo_regions)
    bce = torch.nn.BCEWithLogitsLoss()(logits, hippo_regions)
    assert abs(float(loss(logits, hippo_regions)) - float(dice + 0.5 * bce)) <= 1e-5
    assert set(loss.last_components) == {"dice_loss", "ce"}


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_dice_focal_softmax_3d_matches_monai(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor], gamma: float
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    loss = _build("dice_focal", 3, "softmax", 3, gamma=gamma, include_background=True)
    # MONAI's DiceFocalLoss always uses a sigmoid focal term, so the reference is its DiceLoss + its
    # softmax FocalLoss. That one averages over classes too (only the true class is non-zero): x C
    # gives ours, the per-voxel focal loss that equals the cross-entropy at gamma 0.
    dice = MonaiDice(softmax=True, to_onehot_y=True, include_background=True, batch=True, **SMOOTH)
    focal = MonaiFocal(use_softmax=True, to_onehot_y=True, include_background=True, gamma=gamma)
    expected = dice(logits, hippo_labels) + 3 * focal(logits, hippo_labels)
    assert abs(float(loss(logits, hippo_labels)) - float(expected)) <= 1e-5
    if gamma == 0.0:
        ce = torch.nn.functional.cross_entropy(logits, hippo_labels[:, 0])
        assert abs(loss.last_components["focal"] - float(ce)) <= 1e-5


def test_dice_focal_default_drops_background_from_dice_only(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax", seed=1)
    loss = _build("dice_focal", 3, "softmax", 3, weight_focal=0.5)
    dice = MonaiDice(softmax=True, to_onehot_y=True, include_background=False, batch=True, **SMOOTH)
    focal = MonaiFocal(use_softmax=True, to_onehot_y=True, include_background=True, gamma=2.0)
    expected = dice(logits, hippo_labels) + 0.5 * 3 * focal(logits, hippo_labels)
    assert abs(float(loss(logits, hippo_labels)) - float(expected)) <= 1e-5


def test_dice_focal_sigmoid_2d_matches_monai(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 1, "sigmoid")
    target = drive_masks.float()
    ours = _build("dice_focal", 1, "sigmoid", 2, gamma=1.5)(logits, target)
    ref = MonaiDiceFocal(sigmoid=True, batch=True, gamma=1.5, **SMOOTH)(logits, target)
    assert abs(float(ours) - float(ref)) <= 1e-5


@pytest.mark.parametrize("batch_dice", [True, False])
def test_tversky_softmax_3d_matches_monai(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor], batch_dice: bool
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    ours = _build("tversky", 3, "softmax", 3, batch_dice=batch_dice)
    ref = MonaiTversky(
        alpha=0.3,
        beta=0.7,
        softmax=True,
        to_onehot_y=True,
        include_background=False,
        batch=batch_dice,
        **SMOOTH,
    )
    assert abs(float(ours(logits, hippo_labels)) - float(ref(logits, hippo_labels))) <= 1e-5


def test_tversky_sigmoid_2d_matches_monai_and_half_half_is_dice(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 1, "sigmoid")
    target = drive_masks.float()
    ours = _build("tversky", 1, "sigmoid", 2, alpha=0.2, beta=0.8)(logits, target)
    ref = MonaiTversky(alpha=0.2, beta=0.8, sigmoid=True, batch=True, **SMOOTH)(logits, target)
    assert abs(float(ours) - float(ref)) <= 1e-5
    half = _build("tversky", 1, "sigmoid", 2, alpha=0.5, beta=0.5)(logits, target)
    dice = _build("dice", 1, "sigmoid", 2)(logits, target)
    assert abs(float(half) - float(dice)) <= 1e-6


def test_tversky_weights_false_negatives_by_beta() -> None:
    # One class, probabilities 1 on 2 true voxels + 2 false positives, 0 on 4 false negatives.
    target = torch.tensor([[[[1, 1, 0, 0, 1, 1, 1, 1]]]])
    logits = torch.tensor([[[[9.0, 9, 9, 9, -9, -9, -9, -9]]]])
    loss = _build("tversky", 1, "sigmoid", 2, alpha=0.25, beta=0.75, smooth=0.0)
    p = torch.sigmoid(logits)
    t = target.float()
    tp, fp, fn = float((p * t).sum()), float((p * (1 - t)).sum()), float(((1 - p) * t).sum())
    assert abs(float(loss(logits, target)) - (1 - tp / (tp + 0.25 * fp + 0.75 * fn))) <= 1e-6
    assert abs(float(loss(logits, target)) - (1 - 2 / (2 + 0.5 + 3))) <= 1e-3
