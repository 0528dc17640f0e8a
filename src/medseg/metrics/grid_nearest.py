"""Exact nearest-surface distances on the voxel grid, by looking at offsets in order of length.

Surfaces are sets of voxels, so the nearest surface voxel of ``dst`` seen from a voxel ``p`` lies at
an integer offset ``o`` from it, at distance ``|o * spacing|``. Scanning the offsets in increasing
length and stopping at the first one that lands on ``dst`` gives the exact nearest distance. Segmentation
surfaces are mostly close to each other (0-3 voxels), so a few dozen offsets settle most points: this
is a handful of vectorised gathers (points x offsets) instead of building and querying a k-d tree.

Points are flat (C-order) indices into ``dst``, and ``dst`` must have a background margin of
:func:`reach_voxels` around every point, so that no offset leaves the array (callers crop with that
margin; nothing is padded here).

The scan goes in chunks of growing radius; a point not settled within ``radius_mm`` is left to the
caller (which queries a k-d tree for those, or, for a tolerance test, knows they are beyond it).
If the next chunk would take more than ``GIVE_UP_LOOKUPS`` lookups per point the last one settled
(and finishing would cost more than ``FINISH_LOOKUPS``), the surfaces are far apart and the scan stops early, leaving the
rest to the caller as well. With ``enough``, the scan
also stops as soon as that many points are settled: every settled point is nearer than every
unsettled one, so a caller that needs only the smallest ``enough`` distances has them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

#: chunk radii in units of the coarsest spacing (small steps: a scan that has settled `enough` stops sooner)
CHUNK_RADII = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
#: stop scanning when the next chunk would take more lookups than this per point the last chunk
#: settled (surfaces far apart: a k-d tree query costs about as much); a quarter of it when only ``enough`` points are needed
#: (the caller then needs exact values for few of the points left, see ``nearest_ranks``)
GIVE_UP_LOOKUPS = 512
#: ... unless finishing the scan takes fewer lookups than this (cheaper than building a tree)
FINISH_LOOKUPS = 300_000
#: points x offsets gathered at once, at most (bounds the temporary index matrix)
MAX_GATHER = 4_000_000


def reach_voxels(spacing: Sequence[float], radius_mm: float) -> tuple[int, ...]:
    """Per axis, the largest offset (voxels) whose length along that axis is within ``radius_mm``."""
    return tuple(int(np.floor(radius_mm / s + 1e-9)) for s in spacing)


@functools.lru_cache(maxsize=64)
def offsets_by_length(spacing: tuple[float, ...], radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer offsets ``(k, ndim)`` with ``|o * spacing| <= radius_mm``, shortest first, and their lengths."""
    axes = np.meshgrid(*[np.arange(-r, r + 1) for r in reach_voxels(spacing, radius_mm)], indexing="ij")
    offsets = np.stack([a.ravel() for a in axes], axis=1)
    lengths = np.sqrt(((offsets * np.asarray(spacing)) ** 2).sum(axis=1))
    keep = lengths <= radius_mm * (1 + 1e-12)
    order = np.argsort(lengths[keep], kind="stable")
    offsets, lengths = offsets[keep][order], lengths[keep][order]
    offsets.setflags(write=False)
    lengths.setflags(write=False)
    return offsets, lengths


def nearest_on_grid(
    src: np.ndarray,
    dst: np.ndarray,
    spacing: Sequence[float],
    radius_mm: float,
    enough: int | None = None,
    give_up: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Distances (mm) from the voxels at flat indices ``src`` to the nearest ``True`` voxel of ``dst``.

    ``dst`` is a C-contiguous boolean array with a ``False`` margin of :func:`reach_voxels` around
    every ``src`` voxel. ``give_up=False`` scans the whole radius whatever the yield. Returns ``(distances, unsettled, scanned_mm)``: exact distances, ``inf``
    at the indices ``unsettled``, whose nearest ``dst`` voxel lies farther than ``scanned_mm``
    (the radius scanned completely: ``radius_mm``, or less when the scan stopped early).
    """
    sp = tuple(float(s) for s in spacing)
    offsets, lengths = offsets_by_length(sp, float(radius_mm))
    if not dst.flags.c_contiguous:
        raise ValueError("nearest_on_grid needs a C-contiguous dst array")
    flat = dst.reshape(-1)
    steps = offsets.astype(np.int64) @ (np.asarray(dst.strides, dtype=np.int64) // dst.itemsize)
    out = np.full(len(src), np.inf)
    todo = np.arange(len(src))
    positions = src.astype(np.int64, copy=False)
    coarsest = max(sp)
    reaches = [min(radius * coarsest, radius_mm) for radius in CHUNK_RADII]
    stops = [int(np.searchsorted(lengths, r * (1 + 1e-12), side="right")) for r in reaches]
    budget = GIVE_UP_LOOKUPS if enough is None else GIVE_UP_LOOKUPS // 4
    start, scanned = 0, 0.0
    for i, (reach_mm, stop) in enumerate(zip(reaches, stops, strict=True)):
        if stop <= start:
            scanned = reach_mm
            continue
        found_any = np.empty(len(todo), dtype=bool)
        block = max(1, MAX_GATHER // (stop - start))
        for lo in range(0, len(todo), block):
            here = positions[lo : lo + block]
            # offsets x points: consecutive points read nearby memory, and the reductions run along rows
            hits = flat.take(steps[start:stop, None] + here[None, :])
            first = hits.argmax(axis=0)
            found = hits[first, np.arange(len(here))]
            out[todo[lo : lo + block][found]] = lengths[start:stop][first[found]]
            found_any[lo : lo + block] = found
        settled = int(found_any.sum())
        todo, positions = todo[~found_any], positions[~found_any]
        start, scanned = stop, reach_mm
        if not len(todo) or (enough is not None and len(src) - len(todo) >= enough) or i + 1 == len(stops):
            break
        # the next chunk is predicted to settle as many points as this one did
        if (
            give_up
            and len(todo) * (stops[i + 1] - stop) > budget * settled
            and len(todo) * (len(lengths) - stop) > FINISH_LOOKUPS
        ):
            break
    return out, todo, scanned
