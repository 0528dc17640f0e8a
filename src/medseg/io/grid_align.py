"""The same physical grid stored differently: an axis permutation or flip, undone exactly.

Files of one case may hold the same voxels in another storage order (TotalSegmentator's label of a
DICOM series is stored with the y axis flipped: other origin and direction, the same voxel centres).
:func:`axis_map` finds the signed axis permutation that takes one grid onto the other, when there is
one; :func:`align_array` applies it, so nothing is interpolated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medseg.io.geometry import Geometry

TOLERANCE = 1e-3


def axis_map(
    source: Geometry, source_shape: Sequence[int], target: Geometry, target_shape: Sequence[int]
) -> tuple[tuple[int, ...], tuple[bool, ...]] | None:
    """``(axes, flips)`` with ``target[t] = flip(transpose(source, axes))`` when both grids have the same
    voxel centres, else ``None``. Axes are NumPy array axes (z, y, x)."""
    dims = len(target_shape)
    if source.dim != dims or target.dim != dims or len(source_shape) != dims:
        return None

    def index_of(t_array: np.ndarray) -> np.ndarray:  # target array index -> source array index
        physical = target.index_to_physical(t_array[..., ::-1])
        return source.physical_to_index(physical)[..., ::-1]

    origin = index_of(np.zeros(dims))
    matrix = np.stack([index_of(np.eye(dims)[i]) - origin for i in range(dims)], axis=1)
    rounded = np.rint(matrix)
    if np.abs(matrix - rounded).max() > TOLERANCE or np.abs(origin - np.rint(origin)).max() > TOLERANCE:
        return None
    if not (np.abs(rounded).sum(0) == 1).all() or not (np.abs(rounded).sum(1) == 1).all():
        return None
    axes, flips = [], []
    for i in range(dims):
        j = int(np.flatnonzero(rounded[:, i])[0])
        sign = int(rounded[j, i])
        start = int(np.rint(origin[j]))
        expected = 0 if sign > 0 else int(source_shape[j]) - 1
        if start != expected or int(source_shape[j]) != int(target_shape[i]):
            return None
        axes.append(j)
        flips.append(sign < 0)
    return tuple(axes), tuple(flips)


def align_array(array: np.ndarray, axes: Sequence[int], flips: Sequence[bool]) -> np.ndarray:
    """Apply :func:`axis_map`'s result to a ``(C, *spatial)`` array."""
    out = np.transpose(array, (0, *(a + 1 for a in axes)))
    for axis, flip in enumerate(flips):
        if flip:
            out = np.flip(out, axis + 1)
    return np.ascontiguousarray(out)
