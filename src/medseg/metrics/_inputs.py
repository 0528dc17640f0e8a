"""Input normalisation shared by the metric modules: masks to arrays, spacing to a tuple."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def as_bool_array(mask: ArrayLike, name: str = "mask") -> np.ndarray:
    """A boolean NumPy view of a binary mask given as an array or a (CPU or GPU) tensor."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.dtype != bool:
        array = array != 0
    if array.ndim == 0:
        raise ValueError(f"{name}: expected a spatial mask, got a scalar")
    return array


def as_mask_pair(pred: ArrayLike, ref: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(pred, ref)`` as boolean arrays of the same shape."""
    p, r = as_bool_array(pred, "pred"), as_bool_array(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred shape {p.shape} != ref shape {r.shape}")
    return p, r


def as_spacing(spacing: float | Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    """Spacing in array-axis order as a tuple of ``ndim`` positive floats (``None`` means 1 mm)."""
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, int | float):
        values = (float(spacing),) * ndim
    else:
        values = tuple(float(s) for s in spacing)
    if len(values) != ndim:
        raise ValueError(f"spacing {values} has {len(values)} values for a {ndim}-D mask")
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing {values} must be finite and > 0")
    return values


def bounding_box(mask: np.ndarray, margin: int) -> tuple[tuple[int, int], ...] | None:
    """Per-axis ``(start, stop)`` of the nonzero region grown by ``margin`` (may leave the array).

    Two passes over the data whatever the rank: the extent along the first axis, then the
    projection of that slab onto the other axes (whose extents come from the small projection).
    """
    hits = np.flatnonzero(mask.any(axis=tuple(range(1, mask.ndim))) if mask.ndim > 1 else mask)
    if hits.size == 0:
        return None
    first = (int(hits[0]), int(hits[-1]) + 1)
    rest: tuple[tuple[int, int], ...] = ()
    if mask.ndim > 1:
        inner = bounding_box(np.asarray(mask[first[0] : first[1]].any(axis=0)), 0)
        assert inner is not None
        rest = inner
    return tuple((start - margin, stop + margin) for start, stop in (first, *rest))


def crop_padded(mask: np.ndarray, box: Sequence[tuple[int, int]]) -> np.ndarray:
    """``mask[box]`` where the parts of ``box`` outside the array read as zeros (False)."""
    out = np.zeros(tuple(stop - start for start, stop in box), dtype=mask.dtype)
    src, dst = [], []
    for (start, stop), size in zip(box, mask.shape, strict=True):
        lo, hi = max(start, 0), min(stop, size)
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    out[tuple(dst)] = mask[tuple(src)]
    return out
