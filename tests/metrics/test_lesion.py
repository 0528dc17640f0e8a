"""Lesion-wise (BraTS-style) metrics on hand-built cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from medseg.metrics import (
    hd95,
    image_diagonal,
    lesion_components,
    lesion_wise_scores,
    normalized_surface_dice,
)


def _case() -> tuple[np.ndarray, np.ndarray]:
    ref = np.zeros((20, 20, 20), bool)
    pred = np.zeros_like(ref)
    ref[2:6, 2:6, 2:6] = True  # lesion A, 64 voxels
    pred[2:6, 2:6, 3:6] = True  # finds 48 of them
    ref[12:15, 12:15, 12:15] = True  # lesion B, 27 voxels, missed
    pred[2:4, 14:16, 14:16] = True  # false positive, 8 voxels
    pred[18, 2, 18] = True  # a 1-voxel speck
    return pred, ref


def test_lesion_scores_by_hand() -> None:
    pred, ref = _case()
    spacing = (1.0, 1.0, 1.0)
    scores = lesion_wise_scores(pred, ref, spacing, min_size_voxels=2)
    diagonal = image_diagonal(ref.shape, spacing)
    a_pred, a_ref = np.zeros_like(ref), np.zeros_like(ref)
    a_pred[2:6, 2:6, 3:6] = True
    a_ref[2:6, 2:6, 2:6] = True
    assert (scores.n_reference, scores.n_detected, scores.n_false_positive) == (2, 1, 1)
    assert scores.detection_rate == 0.5
    assert scores.lesion_dice == pytest.approx((96 / 112, 0.0, 0.0))
    assert scores.dice == pytest.approx(96 / 112 / 3)
    assert scores.hd95 == pytest.approx((hd95(a_pred, a_ref) + 2 * diagonal) / 3)
    assert scores.nsd == pytest.approx(normalized_surface_dice(a_pred, a_ref, 1.0) / 3)


def test_small_components_count_unless_filtered() -> None:
    pred, ref = _case()
    assert lesion_wise_scores(pred, ref).n_false_positive == 2
    # 1 voxel = 2 mm^3 at this spacing: a 3 mm^3 limit removes the speck, not the 8-voxel FP
    assert lesion_wise_scores(pred, ref, (2.0, 1.0, 1.0), min_size_mm3=3.0).n_false_positive == 1
    labels, n = lesion_components(pred, (1.0, 1.0, 1.0), min_size_voxels=9)
    assert n == 1 and set(np.unique(labels)) == {0, 1}


def test_dilation_matches_a_near_miss() -> None:
    ref = np.zeros((16, 16, 16), bool)
    ref[4:8, 4:8, 4:8] = True
    pred = np.zeros_like(ref)
    pred[9:12, 4:8, 4:8] = True  # one empty voxel layer between them
    plain = lesion_wise_scores(pred, ref)
    assert (plain.n_detected, plain.n_false_positive, plain.dice) == (0, 1, 0.0)
    dilated = lesion_wise_scores(pred, ref, dilation_iterations=2)
    assert (dilated.n_detected, dilated.n_false_positive, dilated.dice) == (1, 0, 0.0)
    assert dilated.hd95 == pytest.approx(hd95(pred, ref))


def test_max_distance_and_empty_cases() -> None:
    empty = np.zeros((8, 8), bool)
    blob = empty.copy()
    blob[2:4, 2:4] = True
    both_empty = lesion_wise_scores(empty, empty)
    assert (both_empty.dice, both_empty.hd95, both_empty.nsd, both_empty.detection_rate) == (
        1.0,
        0.0,
        1.0,
        1.0,
    )
    only_fp = lesion_wise_scores(blob, empty, max_distance=374.0)
    assert (only_fp.dice, only_fp.hd95, only_fp.nsd, only_fp.detection_rate) == (0.0, 374.0, 0.0, 1.0)
    missed = lesion_wise_scores(empty, blob, max_distance=374.0)
    assert (missed.dice, missed.hd95, missed.detection_rate) == (0.0, 374.0, 0.0)
    with pytest.raises(ValueError, match="connectivity"):
        lesion_wise_scores(blob, blob, connectivity=26)
