"""Exact nearest-surface distances on the voxel grid, by looking at offsets in order of length.

Surfaces are sets of voxels, so the nearest surface voxel of ``dst`` seen from a voxel ``p`` lies at
an integer offset ``o`` from it, at distance ``|o * spacing|``. Scanning the offsets in increasing
length and stopping at the first one that lands on ``dst`` gives the exact nearest distance. Segmentation
surfaces are mostly close to each other (0-3 voxels), so a few dozen offsets settle most points: this
is a handful of vectorised gathers (points x offsets) instead of building and querying a k-d tree.

The scan goes in chunks of growing radius; a point not settled within ``radius_mm`` is left to the
caller (which queries a k-d tree for those few, or, for a tolerance test, knows they are beyond it).
If a chunk settles less than ``GIVE_UP_FRACTION`` of the points it looked at, the surfaces are far
apart and the scan stops early, leaving the rest to the caller as well.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

#: chunk radii in units of the coarsest spacing (0 = the voxel itself, i.e. both surfaces meet)
CHUNK_RADII = (0.0, 1.0, 2.0, 4.0)
#: stop scanning when a chunk settles fewer than this fraction of its points (surfaces far apart)
GIVE_UP_FRACTION = 0.2
#: points x offsets gathered at once, at most (bounds the temporary index matrix)
MAX_GATHER = 4_000_000


@functools.lru_cache(maxsize=64)
def offsets_by_length(spacing: tuple[float, ...], radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer offsets ``(k, ndim)`` with ``|o * spacing| <= radius_mm``, shortest first, and their lengths."""
    reach = [int(np.floor(radius_mm / s + 1e-9)) for s in spacing]
    axes = np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")
    offsets = np.stack([a.ravel() for a in axes], axis=1)
    lengths = np.sqrt(((offsets * np.asarray(spacing)) ** 2).sum(axis=1))
    keep = lengths <= radius_mm * (1 + 1e-12)
    order = np.argsort(lengths[keep], kind="stable")
    offsets, lengths = offsets[keep][order], lengths[keep][order]
    offsets.setflags(write=False)
    lengths.setflags(write=False)
    return offsets, lengths


def nearest_on_grid(src: np.ndarray, dst: np.ndarray, spacing: Sequence[float],
                    radius_mm: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Distances (mm) from the voxels ``src`` ``(n, ndim)`` to the nearest ``True`` voxel of ``dst``.

    Returns ``(distances, unsettled, scanned_mm)``: exact distances, ``inf`` at the indices
    ``unsettled``, whose nearest ``dst`` voxel is known to lie farther than ``scanned_mm`` (the
    radius scanned completely: ``radius_mm``, or less when the scan gave up early).
    """
    sp = tuple(float(s) for s in spacing)
    offsets, lengths = offsets_by_length(sp, float(radius_mm))
    reach = np.abs(offsets).max(axis=0) if len(offsets) else np.zeros(dst.ndim, dtype=np.int64)
    padded = np.pad(dst, [(int(r), int(r)) for r in reach])
    strides = np.asarray(padded.strides, dtype=np.int64) // padded.itemsize
    flat = padded.ravel()
    positions = (src.astype(np.int64) + reach) @ strides
    steps = offsets.astype(np.int64) @ strides
    out = np.full(len(src), np.inf)
    todo = np.arange(len(src))
    start = 0
    scanned = 0.0
    coarsest = max(sp)
    for radius in CHUNK_RADII:
        reach_mm = min(radius * coarsest, radius_mm)
        stop = int(np.searchsorted(lengths, reach_mm * (1 + 1e-12), side="right"))
        if stop <= start:
            scanned = reach_mm
            continue
        found_any = np.zeros(len(todo), dtype=bool)
        block = max(1, MAX_GATHER // (stop - start))
        for lo in range(0, len(todo), block):
            hits = flat[positions[lo:lo + block, None] + steps[None, start:stop]]
            found = hits.any(axis=1)
            if found.any():
                out[todo[lo:lo + block][found]] = lengths[start:stop][hits[found].argmax(axis=1)]
            found_any[lo:lo + block] = found
        settled = int(found_any.sum())
        entered = len(todo)
        todo, positions = todo[~found_any], positions[~found_any]
        start = stop
        scanned = reach_mm
        if not len(todo) or (radius > 0 and settled < GIVE_UP_FRACTION * entered):
            break
    return out, todo, scanned
