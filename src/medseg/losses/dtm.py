"""Signed distance-transform maps (DTMs) of binary masks, in mm, computed on the fly on the CPU.

Definition (what the boundary, Hausdorff and surface losses read):

* a voxel outside the mask holds ``+`` its distance to the nearest voxel inside, a voxel inside
  holds ``-`` its distance to the nearest voxel outside (so the surface lies between the ``-`` and
  ``+`` voxels next to it and no voxel is 0). Distances are Euclidean between voxel centres in mm,
  with the voxel ``spacing`` of each axis (anisotropic grids are measured correctly), in 2D or 3D,
  by the ``edt`` package; the patch border is not a surface.
* ``normalize=True`` (the default, as MIST): the inside part is divided by its largest distance and
  the outside part by its own, per sample and per channel, so the map lies in ``[-1, 1]`` and a
  small structure weighs as much as a large one. Raw distances grow with structure size (hundreds
  of mm for an organ), which makes the distance term dominate the loss for large structures and
  can overflow float16 under mixed precision. Normalising removes any isotropic scale of the
  spacing; what the spacing still changes is the *shape* of the map along each axis.
* A mask with no voxel inside is ``+1`` everywhere (``+`` the patch diagonal in mm unnormalised):
  every voxel is as far as possible from the structure. A mask with no voxel outside is ``-1``
  (``-`` the diagonal).

Medseg normalises per patch because the maps are computed from the training patch's target in the
forward pass (MIST normalises per preprocessed volume). ``bench/losses/bench_dtm.py`` compares this
on-the-fly cost with reading precomputed maps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import edt
import numpy as np
import torch


@runtime_checkable
class SpacingAware(Protocol):
    """A loss that computes distance maps and accepts the spacing of its input at call time.

    ``DeepSupervisionWrapper`` passes ``spacing=`` scaled to each lower-resolution output.
    """

    distance_spacing: tuple[float, ...]

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, spacing: Sequence[float] | None = None
    ) -> torch.Tensor:
        """The loss at ``spacing`` (defaults to ``distance_spacing``)."""
        ...


def check_spacing(spacing: Sequence[float], ndim: int) -> tuple[float, ...]:
    """``spacing`` as a tuple of ``ndim`` positive floats, else ValueError."""
    values = tuple(float(s) for s in spacing)
    if len(values) != ndim or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must hold {ndim} positive values for {ndim}D data, got {list(spacing)}")
    return values


def signed_distance_map(mask: np.ndarray, spacing: Sequence[float], normalize: bool = True) -> np.ndarray:
    """The signed distance map (float32) of a boolean 2D or 3D ``mask`` (see the module docstring)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    sampling = check_spacing(spacing, mask.ndim)
    inside_count = int(mask.sum())
    if inside_count in (0, mask.size):
        extent = 1.0 if normalize else math.sqrt(sum((n * s) ** 2 for n, s in zip(mask.shape, sampling)))
        return np.full(mask.shape, extent if inside_count == 0 else -extent, dtype=np.float32)
    # uint8 views: edt is about twice as fast on them as on bool arrays (same result for 0/1 input)
    outside = edt.edt((~mask).view(np.uint8), anisotropy=sampling, black_border=False)
    inside = edt.edt(mask.view(np.uint8), anisotropy=sampling, black_border=False)
    if normalize:
        outside /= outside.max()
        inside /= inside.max()
    return np.asarray(outside - inside, dtype=np.float32)


def distance_maps(masks: np.ndarray, spacing: Sequence[float], normalize: bool = True) -> np.ndarray:
    """Signed distance maps of a ``(B, C, *spatial)`` stack of boolean masks, one per (sample, channel)."""
    out = np.empty(masks.shape, dtype=np.float32)
    for b in range(masks.shape[0]):
        for c in range(masks.shape[1]):
            out[b, c] = signed_distance_map(masks[b, c], spacing, normalize)
    return out


def distance_maps_like(
    masks: torch.Tensor, spacing: Sequence[float], normalize: bool, device: torch.device
) -> torch.Tensor:
    """Distance maps of a ``(B, C, *spatial)`` mask tensor, computed with numpy and moved to ``device``."""
    array = masks.detach().to("cpu", torch.bool).numpy()
    return torch.from_numpy(distance_maps(array, spacing, normalize)).to(device, non_blocking=True)
