"""Cutting a patch out of a (memory-mapped) channels-first array, padding where it leaves the array."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def start_range(size: int, patch: int) -> tuple[int, int]:
    """Inclusive range of valid patch starts along one axis.

    A patch that fits lies inside the array; a patch larger than the array may start before 0 so
    that the array lies anywhere inside the patch (the rest is padding).
    """
    return (0, size - patch) if size >= patch else (size - patch, 0)


def extract_patch(
    array: np.ndarray, start: Sequence[int], size: Sequence[int], fill: float = 0
) -> np.ndarray:
    """The patch ``[start, start + size)`` of every channel of ``array`` (``(C, *spatial)``).

    Only the overlapping part is read (so a memory map stays unread elsewhere); the rest is ``fill``.
    """
    shape = array.shape[1:]
    src = tuple(slice(max(s, 0), min(s + n, d)) for s, n, d in zip(start, size, shape, strict=True))
    if all(s >= 0 and s + n <= d for s, n, d in zip(start, size, shape, strict=True)):
        return np.array(array[(slice(None), *src)])
    shape_out = (array.shape[0], *size)
    out = np.zeros(shape_out, array.dtype) if fill == 0 else np.full(shape_out, fill, dtype=array.dtype)
    dst = tuple(slice(sl.start - s, sl.stop - s) for sl, s in zip(src, start, strict=True))
    if all(sl.stop > sl.start for sl in src):
        out[(slice(None), *dst)] = array[(slice(None), *src)]
    return out
