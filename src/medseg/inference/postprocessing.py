"""Postprocessing of label maps: keep the largest component, remove small objects, fill holes.

All functions take a spatial integer label map (2-D or 3-D, no channel axis; 0 = background),
return a new array and leave the input untouched. Connected components come from cc3d; the
default connectivity is full (8 in 2-D, 26 in 3-D), as in nnU-Net. ``classes`` limits a step to
some labels (default: every foreground label present). With ``per_class=False`` those classes are
treated as one foreground object (nnU-Net's "all foreground together"); removed voxels become 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_CONNECTIVITIES = {2: (4, 8), 3: (6, 18, 26)}


def _connectivity(ndim: int, connectivity: int | None) -> int:
    """A cc3d connectivity valid for ``ndim`` (default: full)."""
    if ndim not in _CONNECTIVITIES:
        raise ValueError(f"label map must be 2-D or 3-D, got {ndim} dimensions")
    allowed = _CONNECTIVITIES[ndim]
    if connectivity is None:
        return allowed[-1]
    if connectivity not in allowed:
        raise ValueError(f"connectivity {connectivity} is not one of {allowed} for {ndim}-D label maps")
    return connectivity


def connected_components(mask: np.ndarray, connectivity: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Component labels of a binary mask (0 = outside) and the voxel count of each label."""
    import cc3d

    conn = _connectivity(mask.ndim, connectivity)
    conn_any: Any = conn  # cc3d types connectivity as a Literal
    labeled = cc3d.connected_components(np.ascontiguousarray(mask, dtype=bool), connectivity=conn_any)
    sizes = np.bincount(labeled.ravel())
    sizes[0] = 0
    return labeled, sizes


def _classes(labels: np.ndarray, classes: Sequence[int] | None) -> list[int]:
    """The requested classes, or every non-zero label present."""
    if classes is not None:
        return [int(c) for c in classes]
    return [int(c) for c in np.unique(labels) if c != 0]


def _groups(labels: np.ndarray, classes: Sequence[int] | None, per_class: bool) -> list[np.ndarray]:
    """The masks a step works on: one per class, or one union of all classes."""
    chosen = _classes(labels, classes)
    if not chosen:
        return []
    if per_class:
        return [labels == c for c in chosen]
    return [np.isin(labels, chosen)]


def keep_largest_component(
    labels: np.ndarray,
    classes: Sequence[int] | None = None,
    *,
    per_class: bool = True,
    connectivity: int | None = None,
) -> np.ndarray:
    """Keep only the largest connected component of each class (or of all classes together)."""
    result = labels.copy()
    for mask in _groups(labels, classes, per_class):
        labeled, sizes = connected_components(mask, connectivity)
        if sizes.size <= 2:  # zero or one component: nothing to remove
            continue
        result[mask & (labeled != int(np.argmax(sizes)))] = 0
    return result


def remove_small_objects(
    labels: np.ndarray,
    min_size_mm3: float,
    spacing: Sequence[float] | None = None,
    classes: Sequence[int] | None = None,
    *,
    per_class: bool = True,
    connectivity: int | None = None,
) -> np.ndarray:
    """Remove connected components whose volume (voxels x voxel volume) is below ``min_size_mm3``.

    ``spacing`` is the voxel size per array axis (default: 1 on every axis).
    """
    spacing = [1.0] * labels.ndim if spacing is None else [float(s) for s in spacing]
    if len(spacing) != labels.ndim or any(s <= 0 for s in spacing):
        raise ValueError(f"spacing {tuple(spacing)} needs one positive value per axis of {labels.shape}")
    voxel_volume = float(np.prod(spacing))
    result = labels.copy()
    for mask in _groups(labels, classes, per_class):
        labeled, sizes = connected_components(mask, connectivity)
        small = (sizes * voxel_volume < min_size_mm3) & (sizes > 0)
        if small.any():
            result[small[labeled]] = 0
    return result


def fill_holes(labels: np.ndarray, classes: Sequence[int] | None = None) -> np.ndarray:
    """Fill background holes enclosed by each class (scipy ``binary_fill_holes``).

    Only background voxels are filled: another class inside a hole keeps its label.
    """
    from scipy.ndimage import binary_fill_holes

    result = labels.copy()
    for c in _classes(labels, classes):
        mask = labels == c
        if not mask.any():
            continue
        holes = binary_fill_holes(mask) & ~mask & (result == 0)
        result[holes] = c
    return result
