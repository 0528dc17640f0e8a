"""Blending weights of the lite sliding window: a NumPy port of :mod:`medseg.inference.importance`.

The same maps as the torch predictor (tests/lite check them to float precision): a Gaussian with
sigma = ``sigma_scale`` times the patch size per axis, a Hann window two samples longer cut at both
ends, or a constant; the product of the per-axis profiles is clamped from below at
``max(min, 1e-3)``. :func:`weight_sum` adds the map of every window of a grid axis by axis, like
:meth:`medseg.inference.windows.WindowGrid.weight_sum`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BLEND_MODES: tuple[str, ...] = ("gaussian", "hann", "constant")
_MIN_WEIGHT = 1e-3


def _axis_profile(size: int, mode: str, sigma_scale: float) -> np.ndarray:
    """The 1-D weight profile of one window axis (float32)."""
    if mode == "gaussian":
        half = (size - 1) / 2.0
        x = np.arange(-half, half + 1, dtype=np.float32)[:size]
        sigma = size * sigma_scale
        return np.exp(x**2 / np.float32(-2 * sigma**2)).astype(np.float32)
    if mode == "hann":
        return np.hanning(size + 2).astype(np.float32)[1:-1]
    return np.ones(size, dtype=np.float32)


def importance_map(
    patch_size: Sequence[int], mode: str = "gaussian", sigma_scale: float | Sequence[float] = 0.125
) -> np.ndarray:
    """The float32 weight map of one window, shape ``patch_size``, positive everywhere."""
    if mode not in BLEND_MODES:
        raise ValueError(f"blend mode {mode!r} is not one of {', '.join(BLEND_MODES)}")
    sizes = [int(s) for s in patch_size]
    if any(s < 1 for s in sizes):
        raise ValueError(f"patch_size {tuple(sizes)} must be positive on every axis")
    scales = [float(sigma_scale)] * len(sizes) if isinstance(sigma_scale, int | float) else list(sigma_scale)
    if len(scales) != len(sizes):
        raise ValueError(f"sigma_scale {tuple(scales)} needs one value per axis of {tuple(sizes)}")
    weights = _axis_profile(sizes[0], mode, scales[0])
    for axis in range(1, len(sizes)):
        weights = weights[..., None] * _axis_profile(sizes[axis], mode, scales[axis])
    floor = max(float(weights.min()), _MIN_WEIGHT)
    return np.maximum(weights, np.float32(floor)).astype(np.float32)


def weight_sum(weights: np.ndarray, image_size: Sequence[int], starts: Sequence[Sequence[int]]) -> np.ndarray:
    """The sum of ``weights`` placed at every window of the grid ``starts``, shape ``image_size``."""
    total = weights
    patch = weights.shape
    for axis in reversed(range(len(image_size))):
        shape = list(total.shape)
        shape[axis] = int(image_size[axis])
        spread = np.zeros(shape, dtype=weights.dtype)
        for start in starts[axis]:
            index = [slice(None)] * len(shape)
            index[axis] = slice(start, start + patch[axis])
            spread[tuple(index)] += total
        total = spread
    return total
