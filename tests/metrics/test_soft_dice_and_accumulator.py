"""Soft Dice against MONAI's DiceLoss, and the accumulated (global) Dice against one big batch."""

from __future__ import annotations

import pytest
import torch
from monai.losses import DiceLoss

from medseg.metrics import DiceAccumulator, dice, soft_dice


@pytest.mark.parametrize("batch_dice", [False, True])
def test_soft_dice_matches_monai_and_is_differentiable(batch_dice: bool) -> None:
    logits = torch.randn(2, 3, 6, 7, 5, requires_grad=True)
    probs = logits.softmax(1)
    target = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 6, 7, 5)), 3).permute(0, 4, 1, 2, 3).float()
    ours = soft_dice(probs, target, smooth=1e-5, batch_dice=batch_dice)
    loss = DiceLoss(reduction="none", batch=batch_dice, smooth_nr=1e-5, smooth_dr=1e-5)(probs, target)
    assert torch.allclose(1 - ours, loss.reshape(ours.shape), atol=1e-6)
    ours.sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_accumulated_dice_equals_dice_of_everything_at_once() -> None:
    batches = [(torch.rand(2, 3, 5, 6) < 0.4, torch.rand(2, 3, 5, 6) < 0.5) for _ in range(3)]
    acc = DiceAccumulator()
    for pred, ref in batches:
        acc.update(pred, ref)
    # everything seen, laid side by side as one image per class
    all_pred = torch.cat([p.permute(1, 0, 2, 3).reshape(3, -1) for p, _ in batches], 1)[None]
    all_ref = torch.cat([r.permute(1, 0, 2, 3).reshape(3, -1) for _, r in batches], 1)[None]
    assert torch.allclose(acc.compute(), dice(all_pred, all_ref)[0])
    inter = (all_pred & all_ref).sum(-1).double()
    union = (all_pred | all_ref).sum(-1).double()
    assert torch.allclose(acc.compute_iou(), (inter / union)[0])


def test_accumulator_state_dict_reset_and_empty_classes() -> None:
    acc = DiceAccumulator()
    with pytest.raises(RuntimeError, match="before any update"):
        acc.compute()
    pred = torch.zeros(1, 2, 4, 4, dtype=torch.bool)
    ref = pred.clone()
    pred[0, 0, :2] = True
    ref[0, 0, 1:3] = True  # class 1 stays empty in both
    acc.update(pred, ref)
    assert acc.compute().tolist() == [0.5, 1.0]
    restored = DiceAccumulator()
    restored.load_state_dict(acc.state_dict())
    assert torch.equal(restored.compute(), acc.compute())
    acc.reset()
    acc.update(ref, ref)
    assert acc.compute().tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="classes"):
        acc.update(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
