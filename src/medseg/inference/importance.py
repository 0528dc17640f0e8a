"""Blending weights for sliding-window inference: how much each voxel of a window counts.

A window's prediction is less reliable near its border (the network saw less context there), so
overlapping windows are blended with a weight map that peaks in the middle. The Gaussian map
(sigma = ``sigma_scale`` times the patch size per axis) is the one nnU-Net and MONAI use; its
values are clamped from below to ``max(min, 1e-3)`` like MONAI's ``compute_importance_map``, so
no voxel ever has zero total weight and results match MONAI to float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

BLEND_MODES: tuple[str, ...] = ("gaussian", "hann", "constant")
_MIN_WEIGHT = 1e-3


def _axis_profile(size: int, mode: str, sigma_scale: float, device: torch.device) -> torch.Tensor:
    """The 1-D weight profile of one window axis (float32)."""
    if mode == "gaussian":
        half = (size - 1) / 2.0
        x = torch.arange(-half, half + 1, dtype=torch.float32, device=device)[:size]
        sigma = size * sigma_scale
        return torch.exp(x**2 / (-2 * sigma**2))
    if mode == "hann":
        # A Hann window two samples longer, cut at both ends: positive everywhere, peak in the middle.
        return torch.hann_window(size + 2, periodic=False, dtype=torch.float32, device=device)[1:-1]
    return torch.ones(size, dtype=torch.float32, device=device)


def importance_map(
    patch_size: Sequence[int],
    mode: str = "gaussian",
    sigma_scale: float | Sequence[float] = 0.125,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The weight map of one window, shape ``patch_size``, positive everywhere.

    ``mode`` is ``"gaussian"`` (sigma = ``sigma_scale * size`` per axis), ``"hann"`` or
    ``"constant"``. The product of the per-axis profiles is clamped below at ``max(min, 1e-3)``.
    """
    if mode not in BLEND_MODES:
        raise ValueError(f"blend mode {mode!r} is not one of {', '.join(BLEND_MODES)}")
    sizes = [int(s) for s in patch_size]
    if any(s < 1 for s in sizes):
        raise ValueError(f"patch_size {tuple(sizes)} must be positive on every axis")
    scales = [float(sigma_scale)] * len(sizes) if isinstance(sigma_scale, int | float) else list(sigma_scale)
    if len(scales) != len(sizes):
        raise ValueError(f"sigma_scale {tuple(scales)} needs one value per axis of {tuple(sizes)}")
    dev = torch.device(device)
    weights = _axis_profile(sizes[0], mode, scales[0], dev)
    for axis in range(1, len(sizes)):
        weights = weights.unsqueeze(-1) * _axis_profile(sizes[axis], mode, scales[axis], dev)
    floor = max(float(weights.min()), _MIN_WEIGHT)
    return weights.clamp_(min=floor).to(dtype)
