"""Exact percentiles (HD95) and maxima (HD) of surface distances, computing few distances.

A percentile needs two ranks of each directed distance set. Per direction:

1. **Grid scan** (:mod:`medseg.metrics.grid_nearest`) until the points below those ranks are
   settled; then the answer is read off the settled distances and nothing else is computed. Large
   point sets first probe an evenly spread sample of ``PROBE_POINTS``: if the sample says the ranks
   lie beyond the scan radius, the scan is skipped; if within, it runs until they are settled.
2. Otherwise the points left go to :func:`medseg.metrics.nearest_ranks.nearest_distance_ranks`,
   which queries a k-d tree only for the points that can reach the wanted ranks.

The symmetric value is the larger of the two directed ones. The direction that looks farther apart
(fewer points settled by the scan or the probe) is finished first; the other then only has to be
proven not above it, which upper bounds often do without a single exact query. (Preparing the
second direction on another thread while the first finishes was measured slower on 2 cores: the
steps hold the GIL too often.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medseg.metrics import surface_engine as engine
from medseg.metrics.grid_nearest import nearest_on_grid, reach_voxels
from medseg.metrics.nearest_ranks import TargetTrees, cell_ids, nearest_distance_ranks

#: a percentile over more points than this first probes the grid scan on a sample of PROBE_POINTS
PROBE_MIN_POINTS = 8192
PROBE_POINTS = 512
#: ... and scans only if the sample's settled share exceeds the percentile's by this much
PROBE_MARGIN = 0.02


def directed_percentile(
    src: np.ndarray, dst: np.ndarray, spacing: Sequence[float], percentile: float
) -> float:
    """``np.percentile`` (linear) of the distances (mm) from the ``True`` voxels of ``src`` to the
    nearest ``True`` voxel of ``dst`` (non-empty arrays of the same shape), exact."""
    sp = tuple(float(s) for s in spacing)
    dst, src = engine.with_margin(dst, src, reach_voxels(sp, engine.grid_radius_mm(sp)))
    return _finish(_scan(_Surface(src, sp), _Surface(dst, sp), percentile), -math.inf)


def symmetric_percentile(a: np.ndarray, b: np.ndarray, spacing: Sequence[float], percentile: float) -> float:
    """``max`` of both :func:`directed_percentile` values; ``a`` and ``b`` need the grid scan's margin."""
    sp = tuple(float(s) for s in spacing)
    surface_a, surface_b = _Surface(a, sp), _Surface(b, sp)
    first, second = sorted(
        [_scan(surface_a, surface_b, percentile), _scan(surface_b, surface_a, percentile)],
        key=lambda scan: scan.settled_share,
    )
    value = _finish(first, -math.inf)
    return max(value, _finish(second, value))


class _Surface:
    """A surface mask (with the grid margin) and, computed once, its voxels and their positions in mm."""

    def __init__(self, mask: np.ndarray, spacing: tuple[float, ...]) -> None:
        self.mask, self.spacing = mask, spacing
        self.flat = np.flatnonzero(mask)

    @functools.cached_property
    def axes(self) -> tuple[np.ndarray, ...]:
        """Voxel index of every point, per axis."""
        return tuple(np.unravel_index(self.flat, self.mask.shape))

    @functools.cached_property
    def mm(self) -> np.ndarray:
        """Positions ``(n, ndim)`` in mm."""
        return np.stack(self.axes, axis=1) * np.asarray(self.spacing)

    @functools.cached_property
    def trees(self) -> TargetTrees:
        """k-d trees over the points, built as needed."""
        return TargetTrees(self.mm, cell_ids(self.axes, self.spacing))


@dataclass
class _Scan:
    """A directed percentile after the grid scan: exact distances of the near points, the far ones left."""

    src: _Surface
    dst: _Surface
    position: float  # the percentile's fractional rank
    distances: np.ndarray  # exact, inf where not settled
    left: (
        np.ndarray | None
    )  # indices of the points not settled (all farther than the settled ones); None: all
    settled_share: float  # within the scan radius (of the probe, when the scan was skipped)


def _scan(src: _Surface, dst: _Surface, percentile: float) -> _Scan:
    """Grid scan of the points until those below the percentile's ranks are settled (step 1)."""
    n, sp = len(src.flat), src.spacing
    position = percentile / 100 * (n - 1)
    enough = min(math.floor(position) + 1, n - 1) + 1
    radius = engine.grid_radius_mm(sp)
    give_up = True
    if n > PROBE_MIN_POINTS:
        probe = src.flat[np.linspace(0, n - 1, PROBE_POINTS).astype(np.int64)]
        share = 1 - len(nearest_on_grid(probe, dst.mask, sp, radius, give_up=False)[1]) / PROBE_POINTS
        if share < min(1.0, enough / n + PROBE_MARGIN):
            return _Scan(src, dst, position, np.full(n, np.inf), None, share)
        give_up = False  # the sample says the scan will get there
    distances, left, _ = nearest_on_grid(src.flat, dst.mask, sp, radius, enough=enough, give_up=give_up)
    return _Scan(src, dst, position, distances, left, 1 - len(left) / n)


def _finish(scan: _Scan, floor: float) -> float:
    """The exact percentile of a scan (step 2); or ``floor`` itself when the percentile is proven not above it."""
    n = len(scan.src.flat)
    lo = min(math.floor(scan.position), n - 1)
    wanted = np.array([lo, min(lo + 1, n - 1)])
    settled = 0 if scan.left is None else n - len(scan.left)
    values = np.empty(2)
    near = wanted < settled
    if near.any():  # the unsettled points are inf here, so they sort last
        values[near] = np.partition(scan.distances, wanted[near])[wanted[near]]
    if not near.all():
        left = scan.left
        axes = scan.src.axes if left is None else tuple(a[left] for a in scan.src.axes)
        points = scan.src.mm if left is None else scan.src.mm[left]
        far = nearest_distance_ranks(
            points,
            cell_ids(axes, scan.src.spacing),
            scan.dst.trees,
            wanted[~near] - settled,
            engine.query_workers(len(points)),
            at_most=floor,
        )
        if far is None:
            return floor
        values[~near] = far
    return _lerp(float(values[0]), float(values[1]), scan.position - lo)


def _lerp(a: float, b: float, t: float) -> float:
    """NumPy's linear interpolation for percentiles (the same rounding as ``np.percentile``)."""
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t
