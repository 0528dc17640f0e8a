"""Checks on the values an image file holds: finite intensities, integer labels.

Non-finite intensities (NaN, +-inf) are refused by default. The policy ``minimum`` (config key
``dataset_info.nonfinite``) replaces them instead, by a stated rule: each channel's non-finite voxels
take that channel's smallest finite value (the background of most scans, and a value the
normalisation already knows); a channel without any finite voxel is still refused.
"""

from __future__ import annotations

import numpy as np

from medseg.core.errors import ImageReadError
from medseg.core.vocab import NonFinitePolicy, choices

#: the hint every non-finite error ends with
NONFINITE_HINT = (
    "set dataset_info.nonfinite: minimum to replace them with the channel's smallest finite value"
)


def nonfinite_mask(array: np.ndarray, hidden: np.ndarray | None = None) -> np.ndarray | None:
    """Where ``array`` is not finite, plus the flat indices ``hidden`` (voxels a reader zeroed); None if
    there are none."""
    mask = None
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        mask = ~np.isfinite(array)
    if hidden is not None and hidden.size:
        if mask is None:
            mask = np.zeros(array.shape, dtype=bool)
        mask.reshape(-1)[hidden[hidden < array.size]] = True
    return mask


def check_finite(array: np.ndarray, source: str, hidden: np.ndarray | None = None) -> None:
    """Raise :class:`ImageReadError` naming ``source`` and the count when ``array`` has NaN/inf voxels."""
    mask = nonfinite_mask(array, hidden)
    if mask is not None:
        raise ImageReadError(
            f"{source}: image has {int(np.count_nonzero(mask))} NaN/inf voxels ({NONFINITE_HINT})"
        )


def handle_nonfinite(
    array: np.ndarray, source: str, policy: NonFinitePolicy = "error", hidden: np.ndarray | None = None
) -> np.ndarray:
    """``array`` when finite; else an error (``policy`` "error") or a copy with the non-finite voxels
    replaced by their channel's smallest finite value (``policy`` "minimum"; channels first).

    ``hidden``: flat indices of voxels the file holds as NaN/inf that the reader turned into 0.
    """
    if policy not in choices(NonFinitePolicy):
        raise ValueError(f"nonfinite policy must be one of {choices(NonFinitePolicy)}, got {policy!r}")
    if policy == "error":
        check_finite(array, source, hidden)
        return array
    mask = nonfinite_mask(array, hidden)
    if mask is None:
        return array
    out = np.array(array, dtype=array.dtype if np.issubdtype(array.dtype, np.floating) else np.float32)
    for channel in range(out.shape[0]):
        bad = mask[channel]
        if not bad.any():
            continue
        if bad.all():
            raise ImageReadError(
                f"{source}: channel {channel} has no finite voxel (all {bad.size} are NaN/inf)"
            )
        out[channel][bad] = out[channel][~bad].min()
    return out


def smallest_label_dtype(low: int, high: int) -> np.dtype:
    """The smallest of uint8, uint16, int16, int32, int64 that holds every value in ``[low, high]``."""
    for dtype in (np.uint8, np.uint16, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


#: the largest label value accepted: label values are class identifiers (a value of 10^9 in a corrupt
#: file would otherwise make every per-value table a gigabyte)
MAX_LABEL_VALUE = 65535


def _check_range(array: np.ndarray, source: str) -> None:
    if array.size and np.issubdtype(array.dtype, np.number):
        high = array.max()
        if high > MAX_LABEL_VALUE:
            raise ImageReadError(
                f"{source}: label value {high:g} is out of range (label values are class values "
                f"0..{MAX_LABEL_VALUE})"
            )


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
        _check_range(array, source)
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
    _check_range(array, source)
    dtype = smallest_label_dtype(int(array.min()), int(array.max()))
    return array.astype(dtype)
