"""Checks on the values an image file holds: finite intensities, integer labels."""

from __future__ import annotations

import numpy as np

from medseg.core.errors import ImageReadError


def check_finite(array: np.ndarray, source: str) -> None:
    """Raise :class:`ImageReadError` naming ``source`` and the count when ``array`` has NaN/inf voxels."""
    if not np.issubdtype(array.dtype, np.floating):
        return
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ImageReadError(f"{source}: image has {bad} NaN/inf voxels")


def smallest_label_dtype(low: int, high: int) -> np.dtype:
    """The smallest of uint8, uint16, int16, int32, int64 that holds every value in ``[low, high]``."""
    for dtype in (np.uint8, np.uint16, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def as_label_array(array: np.ndarray, source: str) -> np.ndarray:
    """A channels-first label array ``(1, ...)`` of integer dtype, or :class:`ImageReadError`.

    Integer labels keep their dtype (bool becomes uint8). Float labels must hold whole numbers and no
    NaN; they become the smallest integer dtype that holds their range. A multi-channel label whose
    channels agree everywhere (a gray label saved as RGB) becomes one channel; the alpha channel of a
    2D RGBA label is ignored.
    """
    if array.shape[0] == 4 and array.ndim == 3:
        array = array[:3]
    if array.shape[0] > 1:
        differing = int(np.count_nonzero((array != array[:1]).any(axis=0)))
        if differing:
            raise ImageReadError(
                f"{source}: label has {array.shape[0]} colour channels that differ at {differing} voxels "
                "(expected one channel of class indices)"
            )
        array = array[:1]
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ImageReadError(f"{source}: label has unsupported pixel type {array.dtype}")
    nan = int(np.count_nonzero(np.isnan(array)))
    if nan:
        raise ImageReadError(f"{source}: label has {nan} NaN voxels")
    if not np.isfinite(array).all():
        raise ImageReadError(f"{source}: label has infinite values")
    fractional = array != np.round(array)
    if fractional.any():
        example = float(array[fractional].flat[0])
        raise ImageReadError(
            f"{source}: label has {int(np.count_nonzero(fractional))} non-integer values (e.g. {example:g})"
        )
    if array.size == 0:
        return array.astype(np.uint8)
    dtype = smallest_label_dtype(int(array.min()), int(array.max()))
    return array.astype(dtype)
