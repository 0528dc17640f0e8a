"""Soft skeleton and clDice against MONAI's SoftclDiceLoss / SoftDiceclDiceLoss on DRIVE and hippocampus."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from monai.losses import SoftclDiceLoss, SoftDiceclDiceLoss
from monai.losses.cldice import soft_skel

from medseg.losses import ConstantSchedule, build_loss, soft_skeleton
from medseg.losses.topology import ClDiceLoss


@pytest.mark.parametrize("iterations", [0, 3, 5])
def test_soft_skeleton_matches_monai_2d_and_3d(
    drive_masks: torch.Tensor, hippo_labels: torch.Tensor, iterations: int
) -> None:
    for x in (
        torch.rand(2, 1, 48, 48),
        drive_masks.float(),
        (hippo_labels > 0).float(),
        torch.rand(1, 2, 9, 8, 7),
    ):
        assert torch.allclose(soft_skeleton(x, iterations), soft_skel(x, iterations), atol=1e-6)


def test_soft_skeleton_of_a_thick_bar_is_thin() -> None:
    bar = torch.zeros(1, 1, 15, 15)
    bar[0, 0, 5:10, 2:13] = 1.0  # 5 voxels thick
    skeleton = soft_skeleton(bar, 3)
    assert skeleton[0, 0, 7, 4:11].min() == 1.0  # the middle row survives
    assert float(skeleton.sum()) < float(bar.sum()) / 3
    assert float(skeleton[0, 0, :5].sum() + skeleton[0, 0, 10:].sum()) == 0.0


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_cldice_softmax_2d_matches_monai(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor], alpha: float
) -> None:
    logits = make_logits(drive_masks, 2, "softmax")
    ours = build_loss(
        "cldice",
        out_channels=2,
        activation="softmax",
        spacing=(1.0, 1.0),
        params={"batch_dice": False, "iterations": 3},
        composite_weighting={"name": "constant", "params": {"value": alpha}},
    )
    # MONAI weighs clDice by its alpha: ours (Dice weight alpha) is MONAI's 1 - alpha. Its harmonic-mean
    # epsilon is ours (1e-8); its Dice and clDice are per sample.
    ref = SoftDiceclDiceLoss(
        iter_=3,
        alpha=1 - alpha,
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        smooth=1e-8,
        include_background=False,
        softmax=True,
        to_onehot_y=True,
    )
    assert abs(float(ours(logits, drive_masks)) - float(ref(logits, drive_masks))) <= 1e-5


def test_cldice_term_multiclass_3d_is_the_mean_of_monai_per_class(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    loss = ClDiceLoss(3, "softmax", iterations=2, batch_dice=False)
    loss(logits, hippo_labels)
    probs = torch.softmax(logits, 1)
    hot = torch.nn.functional.one_hot(hippo_labels[:, 0], 3).movedim(-1, 1).float()
    ref = SoftclDiceLoss(iter_=2, smooth_nr=1e-5, smooth_dr=1e-5, smooth=1e-8)
    per_class = [float(ref(probs[:, [c]], hot[:, [c]])) for c in (1, 2)]
    assert abs(loss.last_components["cldice"] - sum(per_class) / 2) <= 1e-5


def test_cldice_sigmoid_regions_with_batch_sums(
    hippo_regions: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_regions, 2, "sigmoid")
    loss = ClDiceLoss(2, "sigmoid", ConstantSchedule(0.0), iterations=3)
    value = float(loss(logits, hippo_regions))
    # Reference: MONAI's soft skeleton, then the clDice ratios with sums over batch and space per region.
    probs = torch.sigmoid(logits)
    skel_p, skel_t = soft_skel(probs, 3), soft_skel(hippo_regions, 3)
    dims = (0, 2, 3, 4)
    tprec = ((skel_p * hippo_regions).sum(dims) + 1e-5) / (skel_p.sum(dims) + 1e-5)
    tsens = ((skel_t * probs).sum(dims) + 1e-5) / (skel_t.sum(dims) + 1e-5)
    expected = 1 - (2 * tprec * tsens / (tprec + tsens + 1e-8)).mean()
    assert abs(value - float(expected)) <= 1e-5
    per_sample = float(
        ClDiceLoss(2, "sigmoid", ConstantSchedule(0.0), iterations=3, batch_dice=False)(logits, hippo_regions)
    )
    assert abs(value - per_sample) > 1e-5
    assert loss.last_components["alpha"] == 0.0
