"""Cropping to the nonzero region of an image and the exact inverse (un-cropping)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = list[tuple[int, int]]


def nonzero_box(array: np.ndarray) -> Box:
    """The bounding box ``[(start, stop), ...]`` per spatial axis of voxels where any channel != 0.

    ``array`` is ``(C, *spatial)``. An all-zero image gives the full extent (nothing is cropped).
    """
    mask = np.any(array != 0, axis=0)
    box: Box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(np.any(mask, axis=other)) if other else np.flatnonzero(mask)
        if hits.size == 0:
            return [(0, int(s)) for s in mask.shape]
        box.append((int(hits[0]), int(hits[-1]) + 1))
    return box


def crop_to_box(array: np.ndarray, box: Sequence[tuple[int, int]]) -> np.ndarray:
    """The spatial part ``box`` of a channels-first array (a view; channels kept)."""
    return array[(slice(None), *(slice(lo, hi) for lo, hi in box))]


def uncrop(
    array: np.ndarray,
    box: Sequence[tuple[int, int]],
    full_shape: Sequence[int],
    fill: Sequence[float] | float = 0,
) -> np.ndarray:
    """Place a cropped channels-first array back into a grid of spatial shape ``full_shape``.

    ``fill`` is the value outside the box, one number or one per channel (e.g. background
    probability 1 for channel 0 of a probability map).
    """
    out = np.empty((array.shape[0], *(int(s) for s in full_shape)), dtype=array.dtype)
    fills = np.broadcast_to(np.asarray(fill, dtype=array.dtype), (array.shape[0],))
    for channel, value in enumerate(fills):
        out[channel] = value
    out[(slice(None), *(slice(lo, hi) for lo, hi in box))] = array
    return out
