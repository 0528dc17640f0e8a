"""Settings and small helpers shared by the surface-distance engines (grid scan, k-d trees, EDT).

The module-level settings are read at call time, so tests and benchmarks can change them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

#: threads for ``edt``, for k-d tree queries and for the two directions of a percentile
THREADS = min(4, os.cpu_count() or 1)
#: fewer query points than this run on one thread
PARALLEL_MIN_POINTS = 20_000
#: the grid scan looks this many voxels (of the coarsest spacing) around each point before the k-d tree
GRID_RADIUS_VOXELS = 4
#: points per k-d tree leaf (larger than scipy's 16: one batched query per tree, see bench/metrics)
LEAF_SIZE = 64


def grid_radius_mm(spacing: Sequence[float]) -> float:
    """The radius (mm) the grid scan covers before a k-d tree takes over."""
    return GRID_RADIUS_VOXELS * max(spacing)


def kd_tree(points_mm: np.ndarray) -> Any:
    """A scipy ``cKDTree`` of the points, built the fastest way (unbalanced, loose boxes)."""
    from scipy.spatial import cKDTree

    return cKDTree(points_mm, leafsize=LEAF_SIZE, balanced_tree=False, compact_nodes=False)


def query_workers(n: int) -> int:
    """Threads for a k-d tree query of ``n`` points (threads cost more than small queries save)."""
    return THREADS if n > PARALLEL_MIN_POINTS else 1


def voxel_points(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Voxel indices ``(n, ndim)`` of flat C-order indices."""
    return np.stack(np.unravel_index(flat, shape), axis=1)


def touches_border(mask: np.ndarray, width: int | Sequence[int]) -> bool:
    """Whether ``mask`` has a ``True`` voxel within ``width`` (per axis) of its border."""
    widths = [width] * mask.ndim if isinstance(width, int) else list(width)
    for axis, w in enumerate(widths):
        if w <= 0:
            continue
        if 2 * w >= mask.shape[axis]:
            return bool(mask.any())
        lead = [slice(None)] * mask.ndim
        lead[axis] = slice(0, w)
        tail = [slice(None)] * mask.ndim
        tail[axis] = slice(mask.shape[axis] - w, None)
        if mask[tuple(lead)].any() or mask[tuple(tail)].any():
            return True
    return False


def with_margin(a: np.ndarray, b: np.ndarray, reach: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` (C-contiguous), zero-padded by ``reach`` if either has a voxel that close to the border."""
    if touches_border(a, reach) or touches_border(b, reach):
        pad = [(int(r), int(r)) for r in reach]
        return np.pad(a, pad), np.pad(b, pad)
    return np.ascontiguousarray(a), np.ascontiguousarray(b)
