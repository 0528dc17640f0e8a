"""Chosen order statistics of nearest-neighbour distances, exact, without computing them all.

HD95 needs two values of each directed distance set (the ones around its 95th percentile), and
the Hausdorff distance one (the largest). A k-d tree query per point is exact but costly, above
all for points far from the other surface. :func:`nearest_distance_ranks` computes the exact
distance only for the points that can reach the wanted ranks:

1. The points are grouped in cells of about ``CELL_MM``; one point per cell (its representative)
   gets a quick approximate query (``REP_EPS``) on a small tree of one target per target cell,
   which names a target point ``t`` near its nearest.
2. Every point gets an upper bound: its distance to its cell's ``t`` (a real target point, so
   never below the true nearest distance, and close to it where the surfaces are smooth).
3. With ``at_most``, the caller only needs to know whether the wanted values are ``<= at_most``:
   enough bounds at or below it prove that at once; otherwise the points with the smallest bounds
   are queried with ``at_most`` as search radius until enough are found within it (or none are left).
4. A threshold ``tau`` is taken from the bounds, ``FIRST_MARGIN`` of the points below the lowest
   wanted rank ``r``. Points whose bound is below ``tau`` are certainly below it; the others get
   exact queries, pruned by their own bounds, on a tree of just the targets within reach of them
   (their box grown by their largest bound) unless that box holds most targets.
5. If at least ``m - r`` points are exactly ``>= tau``, the wanted ranks all lie among them and are
   read off exactly. Otherwise the margin doubles and step 4 repeats for the points not yet
   queried; at ``tau = -inf`` every point is exact, so the loop always ends.

The result is exactly what sorting all exact distances gives (tested against that). No tree of all
targets is built unless a step needs one (:class:`TargetTrees`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from medseg.metrics.surface_engine import kd_tree

#: fewer points than this are simply all queried
MIN_POINTS = 4096
#: cell edge (mm) for the representatives
CELL_MM = 4.0
#: representatives' queries may return a neighbour up to (1 + REP_EPS) times the nearest distance
#: (faster; their distances only bound the others and place the threshold)
REP_EPS = 2.0
#: first margin (fraction of the points) of the threshold below the lowest wanted rank
FIRST_MARGIN = 0.03
#: a box holding more than this share of the targets gets the full tree instead of its own
AROUND_SHARE = 0.6
#: a query batch smaller than this runs on one thread (threads were measured slower below it on 2 cores)
PARALLEL_POINTS = 20_000
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


def one_per_cell(cells: tuple[np.ndarray, tuple[int, ...]]) -> np.ndarray:
    """Per cell of the grid: the index of one of its points (which one does not matter), -1 if empty."""
    ids, dims = cells
    table = np.full(int(np.prod(dims)), -1, dtype=np.int64)
    table[ids] = np.arange(len(ids))
    return table


class TargetTrees:
    """k-d trees over a target point set, each built only when a step needs it.

    ``sample``: one target per cell (enough for the representatives' approximate queries);
    ``full``: every target; :meth:`around`: the targets in a box (enough for exact queries of points
    known to lie within some distance of their nearest target).
    """

    def __init__(self, targets: np.ndarray, cells: tuple[np.ndarray, tuple[int, ...]]) -> None:
        self.targets, self.cells = targets, cells

    @functools.cached_property
    def full(self) -> Any:
        """A tree of all targets."""
        return kd_tree(self.targets)

    @functools.cached_property
    def sample(self) -> tuple[Any, np.ndarray]:
        """A tree of one target per cell, and those targets' indices."""
        table = one_per_cell(self.cells)
        chosen = table[table >= 0]
        return kd_tree(self.targets[chosen]), chosen

    def around(self, points: np.ndarray, reach: float) -> tuple[Any, np.ndarray] | None:
        """A tree of the targets within the box of ``points`` grown by ``reach`` and their indices;
        ``None`` when that box holds most targets (the full tree is then as good)."""
        reach = reach * (1 + 1e-9) + 1e-9  # rounding must not drop a target on the box's edge
        low, high = points.min(axis=0) - reach, points.max(axis=0) + reach
        inside = np.flatnonzero(((self.targets >= low) & (self.targets <= high)).all(axis=1))
        if len(inside) > AROUND_SHARE * len(self.targets):
            return None
        return kd_tree(self.targets[inside]), inside


def nearest_distance_ranks(
    points: np.ndarray,
    cells: tuple[np.ndarray, tuple[int, ...]],
    trees: TargetTrees,
    ranks: np.ndarray,
    workers: int = 1,
    at_most: float = -np.inf,
) -> np.ndarray | None:
    """Values at ``ranks`` (0-based, ascending order) of the distances from ``points`` to the targets.

    ``points`` ``(m, ndim)`` in mm, ``cells`` their :func:`cell_ids`; ``trees`` over the targets
    (in mm). ``None`` when every wanted value is proven ``<= at_most`` (enough points are that close).
    """
    m = len(points)
    ranks = np.asarray(ranks, dtype=np.int64)
    if m < MIN_POINTS:
        distances = _query(trees.full, points, workers)[0]
        if np.partition(distances, ranks.max())[ranks.max()] <= at_most:
            return None
        return np.partition(distances, ranks)[ranks]
    ids = cells[0]
    table = one_per_cell(cells)
    occupied = np.flatnonzero(table >= 0)
    rep_target = np.full(len(table), -1, dtype=np.int64)  # per cell: its representative's target
    sample, chosen = trees.sample
    rep_target[occupied] = chosen[_query(sample, points[table[occupied]], workers, eps=REP_EPS)[1]]
    offset = points - trees.targets.take(rep_target[ids], axis=0)
    np.square(offset, out=offset)
    upper = np.sqrt(offset.sum(axis=1))
    lowest, need = int(ranks.min()), int(ranks.max()) + 1
    exact = np.full(m, np.nan)
    if at_most > -np.inf and _at_most(trees, points, upper, exact, at_most, need, workers):
        return None
    margin = FIRST_MARGIN
    while True:
        # upper >= exact, so the threshold sits below the lowest wanted rank unless many bounds are loose
        skip = int(lowest - np.ceil(margin * m))
        tau = float(np.partition(upper, skip)[skip]) if skip > 0 else -np.inf
        todo = np.flatnonzero((upper >= tau) & np.isnan(exact))  # (values found by _at_most are kept)
        local = trees.around(points[todo], float(upper[todo].max())) if len(todo) else None
        tree = trees.full if local is None else local[0]
        exact[todo] = _bounded_query(tree, points[todo], upper[todo], workers)
        above = exact >= tau  # NaN (not queried, so below tau) compares False
        below = m - int(above.sum())
        if below <= lowest:
            return np.sort(exact[above])[ranks - below]
        margin *= 2


def _at_most(
    trees: TargetTrees,
    points: np.ndarray,
    upper: np.ndarray,
    exact: np.ndarray,
    limit: float,
    need: int,
    workers: int,
) -> bool:
    """Whether at least ``need`` points lie within ``limit`` of the targets.

    Bounds settle most points; then the likeliest of the others (smallest bound first) are queried
    with ``limit`` as the search radius, in growing batches, until the count is reached or they run
    out. Distances found are written to ``exact`` (NaN stays where a point is beyond ``limit``
    or was not queried).
    """
    count = int(np.count_nonzero(upper <= limit))
    if count >= need:  # the bounds alone prove it: no tree of all targets needed
        return True
    doubtful = np.flatnonzero(upper > limit)
    doubtful = doubtful[np.argsort(upper[doubtful], kind="stable")]
    done = 0
    while count < need and done < len(doubtful):
        batch = doubtful[done : done + max(64, 2 * (need - count))]
        found = _query(trees.full, points[batch], workers, distance_upper_bound=limit * (1 + 1e-9) + 1e-12)[0]
        within = np.isfinite(found) & (found <= limit)
        exact[batch[within]] = found[within]
        count += int(within.sum())
        done += len(batch)
    return count >= need


def _bounded_query(tree: Any, points: np.ndarray, upper: np.ndarray, workers: int) -> np.ndarray:
    """Exact nearest distances of points whose distance is known to be at most ``upper``."""
    out = np.empty(len(points))
    if not len(points):
        return out
    order = np.argsort(upper, kind="stable")
    for group in np.array_split(order, min(BOUND_GROUPS, len(order))):
        bound = float(upper[group[-1]]) * (1 + 1e-9) + 1e-12
        out[group] = _query(tree, points[group], workers, distance_upper_bound=bound)[0]
    missed = ~np.isfinite(out)
    if missed.any():  # rounding at the bound; cannot happen in exact arithmetic, cheap to guard
        out[missed] = _query(tree, points[missed], workers)[0]
    return out


def _query(tree: Any, points: np.ndarray, workers: int, **options: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest target of each point; threads only for batches large enough to repay starting them."""
    distances, index = tree.query(
        points, k=1, workers=workers if len(points) >= PARALLEL_POINTS else 1, **options
    )
    return distances, index
