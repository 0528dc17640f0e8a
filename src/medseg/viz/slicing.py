"""Which slices to show and how: foreground extent, slice positions, planes and their aspect ratio.

Arrays are ``(z, y, x)``. Axis 0 gives axial planes ``(y, x)``; axes 1 and 2 give coronal ``(z, x)``
and sagittal ``(z, y)`` planes, flipped vertically so that the last slice (superior for a
LPS/RAS-ordered scan) is on top.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PLANE_NAMES = ("axial", "coronal", "sagittal")
AXIS_LETTERS = "zyx"
#: the slices of a montage, as fractions of the foreground extent
MONTAGE_FRACTIONS = (0.25, 0.5, 0.75)


def foreground_extent(axis: int, *masks: np.ndarray | None) -> tuple[int, int]:
    """First and last index along ``axis`` holding foreground in the first non-empty mask.

    Without any foreground the whole axis is the extent.
    """
    size = next(m.shape[axis] for m in masks if m is not None)
    for mask in masks:
        if mask is None:
            continue
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(np.any(mask != 0, axis=other))
        if hits.size:
            return int(hits[0]), int(hits[-1])
    return 0, size - 1


def fraction_positions(extent: tuple[int, int], fractions: Sequence[float] = MONTAGE_FRACTIONS) -> list[int]:
    """Indices at ``fractions`` of the way through the inclusive ``extent`` (rounded half up)."""
    first, last = extent
    return [first + int(np.floor(f * (last - first) + 0.5)) for f in fractions]


def plane(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """Slice ``index`` of a 3D ``volume`` (extra trailing axes such as RGB kept) along ``axis``."""
    taken = np.take(volume, index, axis=axis)
    return taken if axis == 0 else taken[::-1]


def plane_spacing(spacing: Sequence[float], axis: int | None) -> tuple[float, float]:
    """(row, column) spacing of the planes along ``axis`` (``None``: a 2D image)."""
    if axis is None:
        return float(spacing[0]), float(spacing[1])
    kept = [float(s) for a, s in enumerate(spacing) if a != axis]
    return kept[0], kept[1]


def plane_aspect(spacing: Sequence[float], axis: int | None) -> float:
    """Height/width of one pixel of the planes along ``axis``, for ``imshow(aspect=...)``."""
    rows, cols = plane_spacing(spacing, axis)
    return rows / cols


def plane_title(axis: int | None, index: int | None = None, depth: int | None = None) -> str:
    """``"axial z=12"`` (with ``/depth`` when given); ``""`` for a 2D image."""
    if axis is None:
        return ""
    text = f"{PLANE_NAMES[axis]} {AXIS_LETTERS[axis]}={index}"
    return f"{text}/{depth - 1}" if depth is not None else text
