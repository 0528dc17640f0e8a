"""Label values <-> training indices, and regions -> label maps: the Plan's label rules, in one home.

Training works on indices ``0 .. K-1``; the data (and every prediction written) use the values of
``plan.labels`` (``{0, 255}``, ``{0, 1, 4}``, ...). :func:`encode_labels` maps data values to indices
(values missing from the Plan are an error, or background with ``unlisted_labels: background``);
:func:`decode_labels` maps indices back. With regions, :func:`paint_regions` turns per-region
probabilities into a label map by painting each region's ``paint`` value in the Plan's order.
"""

from __future__ import annotations

import numpy as np

from medseg.config.plan import Plan
from medseg.core.errors import DatasetError


def encode_labels(label: np.ndarray, plan: Plan, case_id: str = "case") -> np.ndarray:
    """Data label values -> training indices (int16), following ``plan.labels`` and ``unlisted_labels``."""
    values = plan.label_values
    array = np.rint(label).astype(np.int64) if label.dtype.kind == "f" else label.astype(np.int64, copy=False)
    present = np.unique(array)
    unlisted = sorted(set(present.tolist()) - set(values))
    if unlisted and plan.unlisted_labels == "error":
        raise DatasetError(
            f"case {case_id}: label values {unlisted[:10]} are not in the plan's labels "
            f"{values} (set dataset_info.unlisted_labels: background to treat them as background)"
        )
    if values == list(range(len(values))) and not unlisted:
        return array.astype(np.int16)
    low, high = min(values + present.tolist()), max(values + present.tolist())
    table = np.zeros(high - low + 1, dtype=np.int16)
    for index, value in enumerate(values):
        table[value - low] = index
    return table[array - low]


def decode_labels(indices: np.ndarray, plan: Plan) -> np.ndarray:
    """Training indices -> the data's label values (dtype wide enough for them)."""
    values = np.asarray(plan.label_values)
    dtype = np.uint8 if values.min() >= 0 and values.max() < 256 else np.int32
    if np.array_equal(values, np.arange(len(values))):
        return indices.astype(dtype)
    return values.astype(dtype)[indices.astype(np.int64)]


def paint_regions(probabilities: np.ndarray, plan: Plan, threshold: float = 0.5) -> np.ndarray:
    """``(R, *spatial)`` region probabilities -> a label map of data values (regions painted in order)."""
    if plan.regions is None:
        raise ValueError("paint_regions needs a plan with regions")
    values = [int(r.paint or 0) for r in plan.regions]
    dtype = np.uint8 if min(values) >= 0 and max(values) < 256 else np.int32
    out = np.zeros(probabilities.shape[1:], dtype=dtype)
    for region, prob in zip(plan.regions, probabilities, strict=True):
        out[prob > threshold] = int(region.paint or 0)
    return out
