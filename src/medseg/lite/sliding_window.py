"""Sliding-window inference in NumPy: a port of :func:`medseg.inference.sliding_window_inference`.

The same windows (the grid rule of :mod:`medseg.core.windows`), the same blending weights
(:mod:`medseg.lite.blending`), the same centred zero padding of images smaller than the patch, and
the same handling of a 2D network on 3D data (every slice along the first spatial axis is one
image). Windows run ``window_batch_size`` at a time through ``run`` (an ONNX Runtime session, or any
function from ``(n, C, *patch)`` to ``(n, K, *patch)``); the weighted sum is kept in float32 and
divided once by the total weight per voxel at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from medseg.core.windows import window_starts
from medseg.lite.blending import importance_map, weight_sum

Runner = Callable[[np.ndarray], np.ndarray]


def _pad_to_patch(inputs: np.ndarray, patch: tuple[int, ...], value: float) -> tuple[np.ndarray, list[slice]]:
    """Pad spatial axes smaller than the patch (centred); slices that undo the pad."""
    pad: list[tuple[int, int]] = [(0, 0), (0, 0)]
    crop: list[slice] = []
    for size, p in zip(inputs.shape[2:], patch, strict=True):
        missing = max(p - size, 0)
        pad.append((missing // 2, missing - missing // 2))
        crop.append(slice(missing // 2, missing // 2 + size))
    if not any(before or after for before, after in pad):
        return inputs, crop
    return np.pad(inputs, pad, mode="constant", constant_values=value), crop


def sliding_window(
    inputs: np.ndarray,
    run: Runner,
    patch_size: Sequence[int],
    *,
    overlap: float = 0.5,
    blend: str = "gaussian",
    sigma_scale: float = 0.125,
    window_batch_size: int = 4,
    pad_value: float = 0.0,
) -> np.ndarray:
    """Predict ``inputs`` ``(B, C, *spatial)`` window by window; returns float32 ``(B, K, *spatial)``.

    A ``patch_size`` with one axis fewer than the inputs (a 2D network on 3D data) runs every slice
    along the first spatial axis as its own 2D image.
    """
    if inputs.ndim < 3:
        raise ValueError(f"inputs must be (B, C, *spatial), got shape {tuple(inputs.shape)}")
    if len(patch_size) == inputs.ndim - 3:
        b, c, depth = inputs.shape[:3]
        flat = np.moveaxis(inputs, 2, 1).reshape(b * depth, c, *inputs.shape[3:])
        out = sliding_window(
            flat,
            run,
            patch_size,
            overlap=overlap,
            blend=blend,
            sigma_scale=sigma_scale,
            window_batch_size=window_batch_size,
            pad_value=pad_value,
        )
        return np.moveaxis(out.reshape(b, depth, out.shape[1], *out.shape[2:]), 1, 2)
    if window_batch_size < 1:
        raise ValueError(f"window_batch_size must be >= 1, got {window_batch_size}")
    patch = tuple(int(p) for p in patch_size)
    if len(patch) != inputs.ndim - 2:
        raise ValueError(f"patch_size {patch} needs one value per spatial axis ({inputs.ndim - 2})")
    padded, crop = _pad_to_patch(inputs.astype(np.float32, copy=False), patch, pad_value)
    starts = window_starts(padded.shape[2:], patch, overlap)
    weights = importance_map(patch, blend, sigma_scale)
    corners = list(itertools.product(*starts))
    windows: list[tuple[Any, ...]] = [
        (b, slice(None), *(slice(s, s + p) for s, p in zip(corner, patch, strict=True)))
        for b in range(padded.shape[0])
        for corner in corners
    ]
    output: np.ndarray | None = None
    for first in range(0, len(windows), window_batch_size):
        chunk = windows[first : first + window_batch_size]
        batch = np.ascontiguousarray(np.stack([padded[index] for index in chunk]))
        prediction = np.asarray(run(batch), dtype=np.float32)
        if prediction.shape[0] != len(chunk) or tuple(prediction.shape[2:]) != patch:
            raise ValueError(
                f"model output {tuple(prediction.shape)} does not match the window batch "
                f"({len(chunk)}, *, {', '.join(map(str, patch))})"
            )
        if output is None:
            output = np.zeros((padded.shape[0], prediction.shape[1], *padded.shape[2:]), dtype=np.float32)
        for i, index in enumerate(chunk):
            output[index] += prediction[i] * weights
    assert output is not None  # at least one window always exists
    output /= weight_sum(weights, padded.shape[2:], starts)
    return output[(slice(None), slice(None), *crop)]
