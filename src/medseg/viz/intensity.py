"""Robust intensity windows and the channel to show (channel 0, or RGB for 3-channel 2D images)."""

from __future__ import annotations

import numpy as np

#: percentiles of the default window: robust to hot pixels and to CT air/metal
DEFAULT_PERCENTILES = (0.5, 99.5)
#: at most this many voxels are sampled to estimate the percentiles of a large volume
_SAMPLE = 1_000_000


def window_limits(
    image: np.ndarray, percentiles: tuple[float, float] = DEFAULT_PERCENTILES
) -> tuple[float, float]:
    """The ``(low, high)`` intensity percentiles of the finite values (a regular sample when large)."""
    flat = np.asarray(image).ravel()
    if flat.size > _SAMPLE:
        flat = flat[:: flat.size // _SAMPLE + 1]
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(flat.astype(np.float64), percentiles))
    if high <= low:
        low, high = float(flat.min()), float(flat.max())
    return low, high


def apply_window(image: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """``image`` mapped linearly to ``[0, 1]`` (clipped; a flat window gives zeros), float32."""
    low, high = limits
    scale = 1.0 / (high - low) if high > low else 0.0
    out = (np.asarray(image, dtype=np.float32) - np.float32(low)) * np.float32(scale)
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)


def shown_channels(image: np.ndarray, spatial_ndim: int, channel: int | None = None) -> np.ndarray:
    """The part of ``image`` to show (a view): ``spatial`` (grey) or ``spatial + (3,)`` (RGB).

    ``image`` is ``spatial`` or ``(C, *spatial)``. A 3-channel 2D image with ``channel=None`` is shown
    as an RGB composite; otherwise ``channel`` (default 0) is shown in grey.
    """
    array = np.asarray(image)
    if array.ndim == spatial_ndim:
        return array
    if array.ndim != spatial_ndim + 1:
        raise ValueError(f"image of shape {array.shape} is neither {spatial_ndim}D nor channels-first")
    if channel is None and spatial_ndim == 2 and array.shape[0] == 3:
        return np.moveaxis(array, 0, -1)
    return array[channel or 0]


def display_image(
    image: np.ndarray,
    spatial_ndim: int,
    channel: int | None = None,
    limits: tuple[float, float] | None = None,
) -> np.ndarray:
    """The windowed picture of ``image`` (see :func:`shown_channels`), in ``[0, 1]``.

    An RGB composite gets one window for all channels, so colours keep their balance.
    """
    shown = shown_channels(image, spatial_ndim, channel)
    return apply_window(shown, limits or window_limits(shown))
