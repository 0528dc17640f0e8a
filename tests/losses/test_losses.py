"""Dice+CE and deep supervision against MONAI and hand computations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from monai.losses import DiceCELoss as MonaiDiceCE

from medseg.losses import DeepSupervisionWrapper, DiceCELoss, deep_supervision_weights


def test_softmax_dice_ce_matches_monai_batch_dice_without_background() -> None:
    logits = torch.randn(2, 3, 8, 9, 7)
    target = torch.randint(0, 3, (2, 1, 8, 9, 7))
    ours = DiceCELoss(3, smooth=1e-5)(logits, target)
    ref = MonaiDiceCE(
        softmax=True, to_onehot_y=True, include_background=False, batch=True, smooth_nr=1e-5, smooth_dr=1e-5
    )(logits, target)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_sigmoid_variant_for_one_output_matches_monai_bce() -> None:
    logits = torch.randn(2, 1, 6, 6)
    target = torch.randint(0, 2, (2, 1, 6, 6))
    ours = DiceCELoss(1, smooth=1e-5)(logits, target)
    ref = MonaiDiceCE(sigmoid=True, batch=True, smooth_nr=1e-5, smooth_dr=1e-5)(logits, target.float())
    assert torch.allclose(ours, ref, atol=1e-5)


def test_components_are_reported() -> None:
    loss = DiceCELoss(3)
    value = loss(torch.randn(1, 3, 4, 4), torch.randint(0, 3, (1, 1, 4, 4)))
    comps = loss.last_components
    assert set(comps) == {"dice_loss", "ce"}
    assert abs(comps["dice_loss"] + comps["ce"] - float(value)) < 1e-5


def test_deep_supervision_weights_follow_nnunet_rule() -> None:
    w = deep_supervision_weights(4)
    raw = [1.0, 0.5, 0.25, 0.0]
    assert w == pytest.approx([r / sum(raw) for r in raw])
    assert deep_supervision_weights(1) == [1.0]


def test_deep_supervision_wrapper_is_weighted_sum_over_downsampled_targets() -> None:
    target = torch.randint(0, 3, (1, 1, 8, 8, 8))
    outs = [torch.randn(1, 3, 8, 8, 8), torch.randn(1, 3, 4, 4, 4), torch.randn(1, 3, 2, 2, 2)]
    base = DiceCELoss(3)
    wrapped = DeepSupervisionWrapper(base)(outs, target)
    w = deep_supervision_weights(3)
    t1 = F.interpolate(target.float(), size=(4, 4, 4), mode="nearest-exact").long()
    expected = w[0] * base(outs[0], target) + w[1] * base(outs[1], t1)
    assert torch.allclose(wrapped, expected)


def test_activation_is_derived_as_before_when_not_given() -> None:
    assert DiceCELoss(1).activation == "sigmoid"
    assert DiceCELoss(3, region_based=True).activation == "sigmoid"
    assert DiceCELoss(3).activation == "softmax"
    assert DiceCELoss(3, "sigmoid").num_classes == 3


def test_region_based_dice_ce_takes_one_float_channel_per_region() -> None:
    regions = (torch.rand(2, 3, 6, 6, 6) > 0.5).float()
    logits = torch.randn(2, 3, 6, 6, 6)
    value = DiceCELoss(3, region_based=True)(logits, regions)
    probs = torch.sigmoid(logits)
    dims = (0, 2, 3, 4)
    dice = ((2 * (probs * regions).sum(dims) + 1e-5) / (probs.sum(dims) + regions.sum(dims) + 1e-5)).mean()
    expected = 1 - dice + F.binary_cross_entropy_with_logits(logits, regions)
    assert torch.allclose(value, expected, atol=1e-6)
    assert torch.allclose(
        DiceCELoss(3, region_based=True)(logits, regions.long()), value
    )  # integer 0/1 alike


def test_deep_supervision_keeps_multichannel_float_targets() -> None:
    regions = (torch.rand(1, 2, 8, 8) > 0.5).float()
    outs = [torch.randn(1, 2, 8, 8), torch.randn(1, 2, 4, 4)]
    base = DiceCELoss(2, "sigmoid")
    wrapped = DeepSupervisionWrapper(base, weights=[0.7, 0.3])(outs, regions)
    small = regions[:, :, 1::2, 1::2]  # nearest-exact picks the second voxel of each pair
    assert torch.allclose(wrapped, 0.7 * base(outs[0], regions) + 0.3 * base(outs[1], small))
