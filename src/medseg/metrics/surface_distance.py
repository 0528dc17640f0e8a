"""Surface distances between two binary masks: Hausdorff (max / percentile) and ASSD.

Semantics follow MONAI's ``compute_hausdorff_distance`` / ``compute_average_surface_distance``:
the surface of a mask is ``mask XOR erode(mask)`` (6-/4-connected erosion, outside = background);
distances run from every surface voxel of one mask to the nearest surface voxel of the other, in
mm (``spacing`` in array-axis order). HD is the max of the two directed maxima; HD95 the max of the
two directed 95th percentiles (linear interpolation); ASSD the mean of both distance sets together.

Speed: both masks are cropped to the bounding box of their union, grown by the grid scan's reach
(the margin also keeps every surface voxel and every scanned offset inside the crop). Nearest-surface
distances are exact whichever engine finds them: by default a scan of grid offsets in order of length
(:mod:`medseg.metrics.grid_nearest`; points on the other surface cost one lookup, most others a few
dozen), with a k-d tree (scipy ``cKDTree``) for the points farther than ``GRID_RADIUS_VOXELS``
voxels (:mod:`medseg.metrics.surface_engine`). A percentile (HD95) or the maximum (HD) needs only a
few ranks of each distance set, and :mod:`medseg.metrics.surface_percentile` computes little more.
``method="edt"`` (anisotropic Euclidean distance transform over the box) and ``"kdtree"`` compute
every distance, for cross-checks.

Empty masks: both empty -> ``empty_value`` (0 by default); one empty -> ``inf`` (callers that need
a finite number can pass it through :func:`finite_or`, e.g. with the image diagonal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from medseg.metrics import surface_engine as engine
from medseg.metrics._inputs import ArrayLike, as_mask_pair, as_spacing, bounding_box, crop_padded
from medseg.metrics.grid_nearest import nearest_on_grid, reach_voxels
from medseg.metrics.surface_percentile import symmetric_percentile

#: the engine ``method="auto"`` uses (settings shared by the engines: :mod:`medseg.metrics.surface_engine`)
DEFAULT_METHOD = "grid"


def surface_voxels(mask: np.ndarray) -> np.ndarray:
    """``mask`` minus its erosion by the cross-shaped (face-connected) structuring element.

    Voxels on the array border count as surface (outside the array is background). Works on
    boolean masks and, bit by bit, on ``uint8`` arrays that pack several masks.
    """
    if engine.touches_border(mask, 1):
        padded = np.pad(mask, 1)
        return _surface_inside(padded)[tuple(slice(1, -1) for _ in range(mask.ndim))]
    return _surface_inside(mask)


def _surface_inside(mask: np.ndarray) -> np.ndarray:
    """:func:`surface_voxels` of a mask that is background on its border.

    ``mask & ~erode(mask)`` equals ``mask & ~(and of the 6 neighbours)``: seven passes, no copies.
    """
    inner = tuple(slice(1, -1) for _ in range(mask.ndim))
    neighbours = []
    for axis in range(mask.ndim):
        for shift in (0, 2):
            view = list(inner)
            view[axis] = slice(shift, shift + mask.shape[axis] - 2)
            neighbours.append(mask[tuple(view)])
    core = neighbours[0] & neighbours[1]
    for neighbour in neighbours[2:]:
        core &= neighbour
    np.invert(core, out=core)
    out = np.zeros_like(mask)
    np.bitwise_and(mask[inner], core, out=out[inner])
    return out


def distance_to(surface: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Distance (mm) of every voxel to the nearest ``True`` voxel of ``surface`` (which must be non-empty)."""
    import edt

    threads = engine.THREADS if surface.size > 50 * engine.PARALLEL_MIN_POINTS else 1
    return np.asarray(
        edt.edt(
            np.ascontiguousarray(~surface), anisotropy=tuple(spacing), black_border=False, parallel=threads
        )
    )


def mutual_nearest_distances(
    a: np.ndarray, b: np.ndarray, spacing: Sequence[float], bound: float | None = None, method: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each ``True`` voxel of ``a`` to the nearest of ``b``, and from ``b`` to ``a``.

    Both arrays must be non-empty; results are in C order of the voxels. ``method``: ``"edt"``
    (distance maps of the whole array), ``"kdtree"`` (scipy k-d trees on the points, exact nearest
    neighbours), ``"grid"`` (offsets scanned in order of length, :mod:`medseg.metrics.grid_nearest`,
    with k-d trees for the points it leaves) or ``"auto"`` (``"grid"``). With ``bound``, distances
    above it may come back as ``inf`` (enough for a tolerance test, and faster).
    """
    method = _engine(method)
    sp = tuple(float(s) for s in spacing)
    if method == "edt":
        flat_a, flat_b = np.flatnonzero(a), np.flatnonzero(b)
        return (
            distance_to(b, sp).ravel()[flat_a].astype(np.float64),
            distance_to(a, sp).ravel()[flat_b].astype(np.float64),
        )
    scale = np.asarray(sp)
    if method == "kdtree":
        points_a, points_b = np.argwhere(a) * scale, np.argwhere(b) * scale
        return (_query(points_a, points_b, b[a], bound), _query(points_b, points_a, a[b], bound))
    radius = engine.grid_radius_mm(sp)
    if bound is not None:
        radius = min(radius, bound)
    a, b = engine.with_margin(a, b, reach_voxels(sp, radius))
    flat_a, flat_b = np.flatnonzero(a), np.flatnonzero(b)
    return (
        _grid_then_tree(flat_a, flat_b, b, scale, radius, bound),
        _grid_then_tree(flat_b, flat_a, a, scale, radius, bound),
    )


def _engine(method: str) -> str:
    method = DEFAULT_METHOD if method == "auto" else method
    if method not in ("edt", "kdtree", "grid"):
        raise ValueError(f"method must be 'auto', 'edt', 'grid' or 'kdtree', got '{method}'")
    return method


def _grid_then_tree(
    src: np.ndarray,
    dst: np.ndarray,
    dst_mask: np.ndarray,
    scale: np.ndarray,
    radius: float,
    bound: float | None,
) -> np.ndarray:
    """Grid scan for the near points, a k-d tree for the points it leaves (unless beyond ``bound``)."""
    out, left, scanned = nearest_on_grid(src, dst_mask, tuple(scale.tolist()), radius)
    if left.size and not (bound is not None and scanned >= bound):
        shape = dst_mask.shape
        out[left] = _query(
            engine.voxel_points(src[left], shape) * scale,
            engine.voxel_points(dst, shape) * scale,
            np.zeros(left.size, dtype=bool),
            bound,
        )
    return out


def _query(src: np.ndarray, dst: np.ndarray, on_dst: np.ndarray, bound: float | None) -> np.ndarray:
    """Nearest-neighbour distances from ``src`` points to ``dst`` points (0 where ``on_dst``)."""
    out = np.zeros(len(src))
    far = ~on_dst
    if far.any():
        upper = np.inf if bound is None else bound * (1 + 1e-9) + 1e-12
        out[far] = engine.kd_tree(dst).query(
            src[far], k=1, distance_upper_bound=upper, workers=engine.query_workers(int(far.sum()))
        )[0]
    return out


def directed_surface_distances(
    pred: ArrayLike, ref: ArrayLike, spacing: float | Sequence[float] | None = None, method: str = "auto"
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(d_pred_to_ref, d_ref_to_pred)``: distance of each surface voxel to the other surface.

    ``None`` when either mask is empty.
    """
    surfaces = _cropped_surfaces(pred, ref, spacing, method)
    if surfaces is None:
        return None
    edges_p, edges_r, sp = surfaces
    return mutual_nearest_distances(edges_p, edges_r, sp, method=method)


def _cropped_surfaces(
    pred: ArrayLike, ref: ArrayLike, spacing: float | Sequence[float] | None, method: str
) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]] | None:
    """Surface voxels of both masks in a common crop with the grid scan's margin; ``None`` if one is empty."""
    p, r = as_mask_pair(pred, ref)
    if p.ndim not in (2, 3):
        raise ValueError(f"surface distances need a 2-D or 3-D mask, got shape {p.shape}")
    sp = as_spacing(spacing, p.ndim)
    _engine(method)
    if not (p.any() and r.any()):
        return None
    reach = max(reach_voxels(sp, engine.grid_radius_mm(sp)))
    box = bounding_box(p | r, margin=1 + reach)
    assert box is not None
    # both masks packed in the bits of one array: one erosion pass serves the two
    both = crop_padded(p, box).view(np.uint8)
    both |= crop_padded(r, box).view(np.uint8) << 1
    edges = _surface_inside(both)
    return (edges & 1).view(bool), (edges >> 1).view(bool), sp


def _empty_result(pred: np.ndarray, ref: np.ndarray, empty_value: float) -> float:
    return empty_value if not (pred.any() or ref.any()) else math.inf


def hausdorff_distance(
    pred: ArrayLike,
    ref: ArrayLike,
    spacing: float | Sequence[float] | None = None,
    percentile: float | None = None,
    empty_value: float = 0.0,
    method: str = "auto",
) -> float:
    """Symmetric Hausdorff distance in mm; with ``percentile`` (0-100) the robust variant.

    Both empty -> ``empty_value``; one empty -> ``inf``. ``method`` as in :func:`mutual_nearest_distances`.
    """
    if percentile is not None and not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {percentile}")
    surfaces = _cropped_surfaces(pred, ref, spacing, method)
    if surfaces is None:
        return _empty_result(*as_mask_pair(pred, ref), empty_value)
    edges_p, edges_r, sp = surfaces
    q = 100.0 if percentile is None else float(percentile)
    if _engine(method) == "grid":
        return symmetric_percentile(edges_p, edges_r, sp, q)
    dists = mutual_nearest_distances(edges_p, edges_r, sp, method=method)
    return float(max(np.percentile(d, q) for d in dists))


def hd95(
    pred: ArrayLike, ref: ArrayLike, spacing: float | Sequence[float] | None = None, empty_value: float = 0.0
) -> float:
    """95th-percentile Hausdorff distance in mm (MONAI ``percentile=95`` semantics)."""
    return hausdorff_distance(pred, ref, spacing, percentile=95.0, empty_value=empty_value)


def average_symmetric_surface_distance(
    pred: ArrayLike, ref: ArrayLike, spacing: float | Sequence[float] | None = None, empty_value: float = 0.0
) -> float:
    """ASSD in mm: mean over the surface voxels of both masks of the distance to the other surface."""
    dists = directed_surface_distances(pred, ref, spacing)
    if dists is None:
        return _empty_result(*as_mask_pair(pred, ref), empty_value)
    return float(np.concatenate(dists).astype(np.float64).mean())


def finite_or(value: float, fallback: float) -> float:
    """``value`` if finite, else ``fallback`` (e.g. the image diagonal for a missed structure)."""
    return value if math.isfinite(value) else fallback


def image_diagonal(shape: Sequence[int], spacing: float | Sequence[float] | None = None) -> float:
    """Length in mm of the diagonal of an image of ``shape`` voxels: the largest possible distance."""
    sp = as_spacing(spacing, len(shape))
    return float(math.sqrt(sum((n * s) ** 2 for n, s in zip(shape, sp, strict=True))))
