"""Overlap metrics from the confusion counts of binary masks, batched over ``(B, C, *spatial)``.

Inputs are one-hot/binary tensors or arrays of shape ``(B, C, *spatial)`` (any nonzero value is
foreground); results are float64 tensors of shape ``(B, C)``. A ratio whose denominator is 0 is
``empty_value`` when prediction and reference agree everywhere (both masks empty) and 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from medseg.metrics._inputs import ArrayLike


class ConfusionCounts(NamedTuple):
    """True/false positive/negative voxel counts, each a float64 tensor of shape ``(B, C)``."""

    tp: torch.Tensor
    fp: torch.Tensor
    fn: torch.Tensor
    tn: torch.Tensor


def _as_bool_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x)) if isinstance(x, np.ndarray) else x
    if t.ndim < 3:
        raise ValueError(f"{name}: expected (B, C, *spatial), got shape {tuple(t.shape)}")
    return t if t.dtype == torch.bool else t != 0


def confusion_counts(pred: ArrayLike, ref: ArrayLike) -> ConfusionCounts:
    """Confusion counts per batch item and channel of binary ``(B, C, *spatial)`` masks."""
    p, r = _as_bool_tensor(pred, "pred"), _as_bool_tensor(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred shape {tuple(p.shape)} != ref shape {tuple(r.shape)}")
    dims = tuple(range(2, p.ndim))
    n = float(np.prod(p.shape[2:]))
    tp = (p & r).sum(dims, dtype=torch.float64)
    p_sum, r_sum = p.sum(dims, dtype=torch.float64), r.sum(dims, dtype=torch.float64)
    fp, fn = p_sum - tp, r_sum - tp
    return ConfusionCounts(tp, fp, fn, n - tp - fp - fn)


def safe_ratio(num: torch.Tensor, den: torch.Tensor, agree: torch.Tensor, empty_value: float) -> torch.Tensor:
    """``num / den``; where ``den == 0``: ``empty_value`` if ``agree`` else 0."""
    fallback = torch.where(agree, torch.full_like(num, empty_value), torch.zeros_like(num))
    return torch.where(den > 0, num / den.clamp_min(1e-300), fallback)


def dice_from_counts(c: ConfusionCounts, empty_value: float = 1.0) -> torch.Tensor:
    """Dice ``2TP / (2TP + FP + FN)`` from confusion counts."""
    return safe_ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, c.fp + c.fn == 0, empty_value)


def iou_from_counts(c: ConfusionCounts, empty_value: float = 1.0) -> torch.Tensor:
    """Intersection over union ``TP / (TP + FP + FN)`` from confusion counts."""
    return safe_ratio(c.tp, c.tp + c.fp + c.fn, c.fp + c.fn == 0, empty_value)


def dice(pred: ArrayLike, ref: ArrayLike, empty_value: float = 1.0) -> torch.Tensor:
    """Dice per ``(B, C)``; both empty -> ``empty_value``, one empty -> 0."""
    return dice_from_counts(confusion_counts(pred, ref), empty_value)


def iou(pred: ArrayLike, ref: ArrayLike, empty_value: float = 1.0) -> torch.Tensor:
    """IoU (Jaccard) per ``(B, C)``; both empty -> ``empty_value``, one empty -> 0."""
    return iou_from_counts(confusion_counts(pred, ref), empty_value)


def precision(pred: ArrayLike, ref: ArrayLike, empty_value: float = 1.0) -> torch.Tensor:
    """Precision (positive predictive value) ``TP / (TP + FP)`` per ``(B, C)``."""
    c = confusion_counts(pred, ref)
    return safe_ratio(c.tp, c.tp + c.fp, c.fp + c.fn == 0, empty_value)


def sensitivity(pred: ArrayLike, ref: ArrayLike, empty_value: float = 1.0) -> torch.Tensor:
    """Sensitivity (recall, true positive rate) ``TP / (TP + FN)`` per ``(B, C)``."""
    c = confusion_counts(pred, ref)
    return safe_ratio(c.tp, c.tp + c.fn, c.fp + c.fn == 0, empty_value)


def specificity(pred: ArrayLike, ref: ArrayLike, empty_value: float = 1.0) -> torch.Tensor:
    """Specificity (true negative rate) ``TN / (TN + FP)`` per ``(B, C)``."""
    c = confusion_counts(pred, ref)
    return safe_ratio(c.tn, c.tn + c.fp, c.fp + c.fn == 0, empty_value)


def relative_volume_error(pred: ArrayLike, ref: ArrayLike) -> torch.Tensor:
    """Signed ``(V_pred - V_ref) / V_ref`` per ``(B, C)``; both empty -> 0, empty ref only -> +inf.

    The voxel volume cancels, so spacing is not needed.
    """
    c = confusion_counts(pred, ref)
    v_pred, v_ref = c.tp + c.fp, c.tp + c.fn
    diff = v_pred - v_ref
    empty_ref = torch.where(diff == 0, torch.zeros_like(diff), torch.full_like(diff, float("inf")))
    return torch.where(v_ref > 0, diff / v_ref.clamp_min(1), empty_ref)


def one_hot_labels(label_map: ArrayLike, classes: Sequence[int | Sequence[int]]) -> torch.Tensor:
    """``(B, *spatial)`` label maps -> boolean ``(B, len(classes), *spatial)``.

    Each entry of ``classes`` is a label value or a list of values whose union forms a region
    (e.g. BraTS whole tumour ``[1, 2, 3]``).
    """
    labels = torch.as_tensor(np.asarray(label_map)) if isinstance(label_map, np.ndarray) else label_map
    channels = []
    for cls in classes:
        values = torch.as_tensor([cls] if isinstance(cls, int) else list(cls), device=labels.device)
        channels.append(torch.isin(labels, values.to(labels.dtype)))
    return torch.stack(channels, dim=1)
