"""Normalised surface Dice (NSD) at a tolerance in mm, DeepMind ``surface-distance`` semantics.

Surfaces are made of surface elements (see :mod:`medseg.metrics.surface_elements`) placed on the
grid of 2^d-voxel windows, each weighted by its area (3-D) or length (2-D) under ``spacing``. NSD is
the area of both surfaces lying within ``tolerance_mm`` of the other surface, divided by the total
area of both. This equals MONAI's ``compute_surface_dice(use_subvoxels=True)``.

A distance within a relative 1e-6 of the tolerance counts as within it (distances are float32).
Empty masks: both empty -> ``empty_value`` (1); one empty -> 0.
Speed: like :mod:`medseg.metrics.surface_distance`, the work is confined to the bounding box of
both masks plus the grid scan's reach, with the bounded scan of grid offsets (or another engine).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medseg.metrics._inputs import ArrayLike, as_mask_pair, as_spacing, bounding_box, crop_padded
from medseg.metrics.grid_nearest import reach_voxels
from medseg.metrics.surface_distance import mutual_nearest_distances
from medseg.metrics.surface_elements import element_areas, neighbour_codes
from medseg.metrics.surface_engine import grid_radius_mm


def surface_elements(mask: np.ndarray, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``(is_surface, areas)``: surface windows on the window grid (shape ``mask.shape - 1``) of a
    zero-padded mask, and the area of each surface element in C order."""
    codes = neighbour_codes(mask)
    full = 2 ** (2**mask.ndim) - 1
    is_surface = (codes != 0) & (codes != full)
    return is_surface, element_areas(spacing)[codes[is_surface]]


def normalized_surface_dice(
    pred: ArrayLike,
    ref: ArrayLike,
    tolerance_mm: float = 1.0,
    spacing: float | Sequence[float] | None = None,
    empty_value: float = 1.0,
) -> float:
    """NSD of two binary masks at ``tolerance_mm``; spacing in array-axis order (mm)."""
    if not np.isfinite(tolerance_mm) or tolerance_mm < 0:
        raise ValueError(f"tolerance_mm must be finite and >= 0, got {tolerance_mm}")
    p, r = as_mask_pair(pred, ref)
    if p.ndim not in (2, 3):
        raise ValueError(f"normalized surface Dice needs a 2-D or 3-D mask, got shape {p.shape}")
    sp = as_spacing(spacing, p.ndim)
    has_p, has_r = bool(p.any()), bool(r.any())
    if not (has_p and has_r):
        return empty_value if not (has_p or has_r) else 0.0
    limit = tolerance_mm * (1 + 1e-6)
    # the margin keeps the scan of offsets up to the tolerance inside the window grid (no padding later)
    reach = max(reach_voxels(sp, min(limit, grid_radius_mm(sp))))
    box = bounding_box(p | r, margin=1 + reach)
    assert box is not None
    surf_p, area_p = surface_elements(crop_padded(p, box), sp)
    surf_r, area_r = surface_elements(crop_padded(r, box), sp)
    d_p, d_r = mutual_nearest_distances(surf_p, surf_r, sp, bound=limit)
    close_p, close_r = d_p <= limit, d_r <= limit
    total = area_p.sum() + area_r.sum()
    return float((area_p[close_p].sum() + area_r[close_r].sum()) / total) if total > 0 else 0.0
