"""Overlap metrics against monai.metrics (DiceMetric, MeanIoU, ConfusionMatrix) and hand counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.metrics import DiceMetric, MeanIoU, compute_confusion_matrix_metric, get_confusion_matrix

from medseg.metrics import (
    confusion_counts,
    dice,
    iou,
    one_hot_labels,
    precision,
    relative_volume_error,
    sensitivity,
    specificity,
)


def _random_pair(shape: tuple[int, ...] = (3, 4, 7, 8, 6)) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(shape) < 0.4, torch.rand(shape) < 0.5


def test_dice_and_iou_match_monai() -> None:
    pred, ref = _random_pair()
    monai_dice = torch.as_tensor(
        DiceMetric(include_background=True, reduction="none")(pred.float(), ref.float())
    )
    monai_iou = torch.as_tensor(MeanIoU(include_background=True, reduction="none")(pred.float(), ref.float()))
    assert torch.allclose(dice(pred, ref).float(), monai_dice, atol=1e-6)
    assert torch.allclose(iou(pred, ref).float(), monai_iou, atol=1e-6)


@pytest.mark.parametrize("name", ["precision", "sensitivity", "specificity"])
def test_confusion_metrics_match_monai(name: str) -> None:
    pred, ref = _random_pair((2, 3, 9, 10))
    matrix = get_confusion_matrix(pred.float(), ref.float(), include_background=True)
    expected = compute_confusion_matrix_metric(name, matrix)
    ours = {"precision": precision, "sensitivity": sensitivity, "specificity": specificity}[name](pred, ref)
    assert torch.allclose(ours.float(), expected, atol=1e-6)


def test_counts_by_hand_and_numpy_input() -> None:
    pred = np.zeros((1, 1, 4, 4), bool)
    ref = np.zeros((1, 1, 4, 4), bool)
    pred[0, 0, :2, :2] = True  # 4 voxels
    ref[0, 0, 1:3, :2] = True  # 4 voxels, 2 shared
    c = confusion_counts(pred, ref)
    assert (c.tp.item(), c.fp.item(), c.fn.item(), c.tn.item()) == (2, 2, 2, 10)
    assert dice(pred, ref).item() == pytest.approx(0.5)
    assert iou(pred, ref).item() == pytest.approx(2 / 6)
    assert specificity(pred, ref).item() == pytest.approx(10 / 12)


def test_empty_conventions() -> None:
    empty = torch.zeros(1, 1, 5, 5, dtype=torch.bool)
    full = empty.clone()
    full[0, 0, 1:3, 1:3] = True
    for fn in (dice, iou, precision, sensitivity):
        assert fn(empty, empty).item() == 1.0
        assert fn(empty, empty, empty_value=0.5).item() == 0.5
        assert fn(full, empty).item() == 0.0
        assert fn(empty, full).item() == 0.0
    assert relative_volume_error(empty, empty).item() == 0.0
    assert relative_volume_error(full, empty).item() == float("inf")
    assert relative_volume_error(empty, full).item() == -1.0


def test_relative_volume_error_is_signed() -> None:
    ref = torch.zeros(2, 1, 10, dtype=torch.bool)
    pred = ref.clone()
    ref[:, 0, :4] = True
    pred[0, 0, :5] = True  # 5 vs 4 -> +25 %
    pred[1, 0, :3] = True  # 3 vs 4 -> -25 %
    assert relative_volume_error(pred, ref)[:, 0].tolist() == [0.25, -0.25]


def test_one_hot_labels_with_regions() -> None:
    labels = torch.tensor([[0, 1, 2, 3, 2]])
    onehot = one_hot_labels(labels, [1, 2, [1, 2, 3]])
    assert onehot.shape == (1, 3, 5)
    assert onehot[0].int().tolist() == [[0, 1, 0, 0, 0], [0, 0, 1, 0, 1], [0, 1, 1, 1, 1]]


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="pred shape"):
        dice(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 4))
