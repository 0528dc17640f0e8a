"""Chosen order statistics of nearest-neighbour distances, exact, without computing them all.

HD95 needs two values of each directed distance set (the ones around its 95th percentile), and
the Hausdorff distance one (the largest). A k-d tree query per point is exact but costly, above
all for points far from the other surface. :func:`nearest_distance_ranks` computes the exact
distance only for the points that can reach the wanted ranks:

1. The points are grouped in cells of about ``CELL_MM``; one point per cell (its representative)
   gets an exact query, which also names its nearest target point ``t``.
2. Every point gets an upper bound, its distance to its representative's ``t`` (a real target
   point, so never below the true nearest distance).
3. A threshold ``tau`` is set a little below the wanted ranks, from the representatives' exact
   distances. Points whose bound is below ``tau`` are certainly below it; the others get exact
   queries (bounded by their own upper bound, which prunes the search).
4. If at least ``m - r`` points are exactly ``>= tau`` (``r`` the lowest wanted rank of ``m``), the
   wanted ranks all lie among them and are read off exactly. Otherwise ``tau`` is lowered and
   step 3 repeats; at ``tau = -inf`` every point is exact, so the loop always ends.

The result is exactly what sorting all exact distances gives (tested against that).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: fewer points than this are simply all queried
MIN_POINTS = 4096
#: cell edge (mm) for the representatives
CELL_MM = 4.0
#: representatives' queries may return a neighbour up to (1 + REP_EPS) times the nearest distance
#: (faster; their distances only bound the others and place the threshold)
REP_EPS = 2.0
#: first margin (fraction of the points) of the threshold below the lowest wanted rank
FIRST_MARGIN = 0.03
#: upper-bounded queries are made in this many groups of similar bound
BOUND_GROUPS = 8


def cell_ids(axes: Sequence[np.ndarray], spacing: Sequence[float]) -> tuple[np.ndarray, tuple[int, ...]]:
    """The cell (about ``CELL_MM`` wide) of every point, from its voxel indices per axis, as a flat
    index into the grid of cells the points span; and that grid's shape."""
    ids = np.zeros(len(axes[0]), dtype=np.int64)
    dims = []
    for index, step in zip(axes, spacing, strict=True):
        coarse = index // max(1, round(CELL_MM / step))
        low = int(coarse.min())
        dims.append(int(coarse.max()) - low + 1)
        ids = ids * dims[-1] + (coarse - low)
    return ids, tuple(dims)


def nearest_distance_ranks(points: np.ndarray, cells: tuple[np.ndarray, tuple[int, ...]], tree: object, targets: np.ndarray,
                           ranks: np.ndarray, workers: int = 1, at_most: float = -np.inf) -> np.ndarray | None:
    """Values at ``ranks`` (0-based, ascending order) of the distances from ``points`` to ``targets``.

    ``points`` ``(m, ndim)`` in mm, ``cells`` their :func:`cell_ids`; ``tree`` a
    ``scipy.spatial.cKDTree`` of ``targets`` ``(n, ndim)`` in mm. ``None`` when every wanted value
    is proven ``<= at_most`` (enough points are that close).
    """
    m = len(points)
    ranks = np.asarray(ranks, dtype=np.int64)
    if m < MIN_POINTS:
        distances = tree.query(points, k=1, workers=workers)[0]  # type: ignore[attr-defined]
        if np.partition(distances, ranks.max())[ranks.max()] <= at_most:
            return None
        return np.partition(distances, ranks)[ranks]
    ids, dims = cells
    table = np.full(int(np.prod(dims)), -1, dtype=np.int64)
    table[ids] = np.arange(m)  # some member of each cell (which one does not matter)
    occupied = np.flatnonzero(table >= 0)
    rep_target = np.full(len(table), -1, dtype=np.int64)  # per cell: its representative's target
    rep_target[occupied] = tree.query(points[table[occupied]], k=1, eps=REP_EPS,  # type: ignore[attr-defined]
                                      workers=workers)[1]
    offset = points - targets.take(rep_target[ids], axis=0)
    np.square(offset, out=offset)
    upper = np.sqrt(offset.sum(axis=1))
    lowest = int(ranks.min())
    exact = np.full(m, np.nan)
    if at_most > -np.inf and _at_most(tree, points, upper, exact, at_most, int(ranks.max()) + 1, workers):
        return None
    margin = FIRST_MARGIN
    while True:
        # upper >= exact, so the threshold sits below the lowest wanted rank unless many bounds are loose
        skip = int(lowest - np.ceil(margin * m))
        tau = float(np.partition(upper, skip)[skip]) if skip > 0 else -np.inf
        todo = np.flatnonzero((upper >= tau) & np.isnan(exact))  # (values found by _at_most are kept)
        exact[todo] = _bounded_query(tree, points[todo], upper[todo], workers)
        above = exact >= tau  # NaN (not queried, so below tau) compares False
        below = m - int(above.sum())
        if below <= lowest:
            return np.sort(exact[above])[ranks - below]
        margin *= 2


def _at_most(tree: object, points: np.ndarray, upper: np.ndarray, exact: np.ndarray, limit: float, need: int,
             workers: int) -> bool:
    """Whether at least ``need`` points lie within ``limit`` of the targets.

    Bounds settle most points; then the likeliest of the others (smallest bound first) are queried
    with ``limit`` as the search radius, in growing batches, until the count is reached or they run
    out. Distances found are written to ``exact`` (NaN stays where a point is beyond ``limit``
    or was not queried).
    """
    count = int(np.count_nonzero(upper <= limit))
    if count >= need:
        return True
    doubtful = np.flatnonzero(upper > limit)
    doubtful = doubtful[np.argsort(upper[doubtful], kind="stable")]
    done = 0
    while count < need and done < len(doubtful):
        batch = doubtful[done:done + max(64, 2 * (need - count))]
        found = tree.query(points[batch], k=1, distance_upper_bound=limit * (1 + 1e-9) + 1e-12,  # type: ignore[attr-defined]
                           workers=workers)[0]
        within = np.isfinite(found) & (found <= limit)
        exact[batch[within]] = found[within]
        count += int(within.sum())
        done += len(batch)
    return count >= need


def _bounded_query(tree: object, points: np.ndarray, upper: np.ndarray, workers: int) -> np.ndarray:
    """Exact nearest distances of points whose distance is known to be at most ``upper``."""
    out = np.empty(len(points))
    if not len(points):
        return out
    order = np.argsort(upper, kind="stable")
    for group in np.array_split(order, min(BOUND_GROUPS, len(order))):
        bound = float(upper[group[-1]]) * (1 + 1e-9) + 1e-12
        out[group] = tree.query(points[group], k=1, distance_upper_bound=bound,  # type: ignore[attr-defined]
                                workers=workers)[0]
    missed = ~np.isfinite(out)
    if missed.any():  # rounding at the bound; cannot happen in exact arithmetic, cheap to guard
        out[missed] = tree.query(points[missed], k=1, workers=workers)[0]  # type: ignore[attr-defined]
    return out
