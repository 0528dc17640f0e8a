"""Metrics by name for the Evaluator: ``get_metric("hd95")(pred_mask, ref_mask, spacing) -> float``.

Every registered metric takes two binary masks (arrays or tensors, same shape) and the spacing in
array-axis order. Names with a tolerance take it after ``@`` in mm: ``"nsd@2"``, ``"lesion_nsd@0.5"``
(default 1 mm).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch

from medseg.metrics import overlap
from medseg.metrics._inputs import ArrayLike, as_mask_pair
from medseg.metrics.lesion import lesion_wise_scores
from medseg.metrics.surface_dice import normalized_surface_dice
from medseg.metrics.surface_distance import average_symmetric_surface_distance, hausdorff_distance, hd95
from medseg.metrics.topology import cldice


class _OverlapMetric:
    """A batched overlap metric applied to one mask pair (a class, so that it pickles for workers)."""

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.fn = fn
        self.__name__ = fn.__name__

    def __call__(self, pred: ArrayLike, ref: ArrayLike, spacing: Sequence[float] | None = None) -> float:
        p, r = as_mask_pair(pred, ref)
        return float(self.fn(torch.from_numpy(p[None, None]), torch.from_numpy(r[None, None]))[0, 0])


def _nsd(
    pred: ArrayLike, ref: ArrayLike, spacing: Sequence[float] | None = None, tolerance_mm: float = 1.0
) -> float:
    return normalized_surface_dice(pred, ref, tolerance_mm, spacing)


def _lesion(
    field: str,
    pred: ArrayLike,
    ref: ArrayLike,
    spacing: Sequence[float] | None = None,
    tolerance_mm: float = 1.0,
) -> float:
    return float(getattr(lesion_wise_scores(pred, ref, spacing, tolerance_mm=tolerance_mm), field))


def _volume_error(pred: ArrayLike, ref: ArrayLike, spacing: Sequence[float] | None = None) -> float:
    p, r = as_mask_pair(pred, ref)
    return float(overlap.relative_volume_error(p[None, None], r[None, None])[0, 0])


_METRICS: dict[str, Callable[..., float]] = {
    "dice": _OverlapMetric(overlap.dice),
    "iou": _OverlapMetric(overlap.iou),
    "precision": _OverlapMetric(overlap.precision),
    "sensitivity": _OverlapMetric(overlap.sensitivity),
    "recall": _OverlapMetric(overlap.sensitivity),
    "specificity": _OverlapMetric(overlap.specificity),
    "relative_volume_error": _volume_error,
    "hd": hausdorff_distance,
    "hd95": hd95,
    "assd": average_symmetric_surface_distance,
    "nsd": _nsd,
    "lesion_dice": partial(_lesion, "dice"),
    "lesion_hd95": partial(_lesion, "hd95"),
    "lesion_nsd": partial(_lesion, "nsd"),
    "lesion_detection_rate": partial(_lesion, "detection_rate"),
    "cldice": cldice,
}
_WITH_TOLERANCE = {"nsd", "lesion_nsd"}


def register_metric(name: str, fn: Callable[..., float], overwrite: bool = False) -> None:
    """Make ``fn(pred_mask, ref_mask, spacing) -> float`` available as ``get_metric(name)``."""
    if name in _METRICS and not overwrite:
        raise KeyError(f"metric '{name}' is already registered (pass overwrite=True to replace it)")
    _METRICS[name] = fn


def available_metrics() -> list[str]:
    """Registered metric names, sorted."""
    return sorted(_METRICS)


def get_metric(name: str) -> Callable[..., float]:
    """The metric called ``name`` (``"nsd@2"``: NSD at 2 mm), as ``fn(pred, ref, spacing) -> float``."""
    base, _, tol = name.partition("@")
    if base not in _METRICS:
        raise KeyError(f"unknown metric '{name}'; available: {', '.join(available_metrics())}")
    if not tol:
        return _METRICS[base]
    if base not in _WITH_TOLERANCE:
        raise KeyError(f"metric '{base}' takes no '@tolerance' (only {sorted(_WITH_TOLERANCE)} do)")
    try:
        tolerance = float(tol)
    except ValueError:
        raise KeyError(f"metric '{name}': tolerance '{tol}' is not a number of mm") from None
    if not np.isfinite(tolerance) or tolerance < 0:
        raise KeyError(f"metric '{name}': tolerance must be finite and >= 0")
    fn = partial(_METRICS[base], tolerance_mm=tolerance)
    fn.__name__ = name  # type: ignore[attr-defined]
    return fn
