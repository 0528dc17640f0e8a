"""Surface elements of a binary mask from 2x2(x2) neighbourhood codes (DeepMind surface-distance).

Each window of 2^d neighbouring voxels gets a code (bit ``2^(2^d - 1 - flat_index)`` set where the
voxel is inside, ``flat_index`` in C order, matching DeepMind's and MONAI's encoding kernel). A code
that is neither all-inside nor all-outside holds a piece of surface, placed marching-cubes-like
through the midpoints of the window edges that cross the boundary.

The tables are derived here, not copied: for every code we take the connected (edge-adjacent)
components of the smaller side (inside when it has at most half of the corners, else outside);
each component is bounded by one polygon through its cut-edge midpoints, chained face by face.
The polygon is split into triangles using the triangulation that uses the fewest distinct plane
orientations (i.e. the polygon is cut into as few planar pieces as possible). Each triangle keeps
its area-weighted normal ``n`` in voxel units; under spacing ``s`` its area is
``|n * (s1 s2, s0 s2, s0 s1)|`` (the cofactor of the scaling). This reproduces the
``neighbour_code_to_normals`` table of DeepMind's surface-distance for all 256 codes (the test
checks the areas against MONAI's copy). In 2-D the elements are segments between edge midpoints.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

Corner = tuple[int, ...]


def _bit(corner: Corner) -> int:
    flat = int("".join(map(str, corner)), 2)
    return 1 << (2 ** len(corner) - 1 - flat)


def _adjacent(a: Corner, b: Corner) -> bool:
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _components(corners: list[Corner]) -> list[set[Corner]]:
    left, comps = set(corners), []
    while left:
        stack = [left.pop()]
        comp = set(stack)
        while stack:
            a = stack.pop()
            for b in [b for b in left if _adjacent(a, b)]:
                left.remove(b)
                comp.add(b)
                stack.append(b)
        comps.append(comp)
    return comps


def _cut_edges(comp: set[Corner], ndim: int) -> list[tuple[Corner, Corner]]:
    corners = list(itertools.product((0, 1), repeat=ndim))
    return [
        (a, b)
        for a, b in itertools.combinations(corners, 2)
        if _adjacent(a, b) and (a in comp) != (b in comp)
    ]


def _polygon(comp: set[Corner]) -> list[np.ndarray]:
    """The cut-edge midpoints around a 3-D component, in cyclic order."""
    cut = _cut_edges(comp, 3)
    segments = []
    for axis, value in itertools.product(range(3), (0, 1)):
        on_face = [e for e in cut if e[0][axis] == value and e[1][axis] == value]
        if on_face:
            segments.append(on_face)
    order = list(segments.pop(0))
    while segments:
        seg = next(s for s in segments if order[-1] in s)
        segments.remove(seg)
        nxt = seg[1] if seg[0] == order[-1] else seg[0]
        if nxt != order[0]:
            order.append(nxt)
    return [(np.array(a, float) + np.array(b, float)) / 2 for a, b in order]


def _triangulations(idx: Sequence[int]) -> Iterator[list[tuple[int, int, int]]]:
    if len(idx) < 3:
        yield []
        return
    first, last = idx[0], idx[-1]
    for k in range(1, len(idx) - 1):
        for left in _triangulations(idx[: k + 1]):
            for right in _triangulations(idx[k:]):
                yield [*left, *right, (first, idx[k], last)]


def _direction_key(normal: np.ndarray) -> tuple[float, ...]:
    """The line a normal spans, as a hashable key (unit length, sign fixed, rounded)."""
    unit = normal / np.linalg.norm(normal)
    if unit[np.flatnonzero(np.abs(unit) > 1e-9)[0]] < 0:
        unit = -unit
    return tuple(np.round(unit, 9) + 0.0)


def _planar_triangles(points: list[np.ndarray]) -> list[np.ndarray]:
    """Area-weighted normals of the triangulation of a polygon with the fewest plane orientations."""
    normals = {
        tri: 0.5 * np.cross(points[tri[1]] - points[tri[0]], points[tri[2]] - points[tri[0]])
        for tri in itertools.combinations(range(len(points)), 3)
    }
    keys = {tri: _direction_key(n) for tri, n in normals.items() if np.linalg.norm(n) > 1e-12}
    best = min(_triangulations(range(len(points))), key=lambda tris: len({keys[t] for t in tris}))
    return [normals[t] for t in best]


def _smaller_side(code: int, ndim: int) -> list[Corner]:
    corners = list(itertools.product((0, 1), repeat=ndim))
    inside = [c for c in corners if code & _bit(c)]
    return inside if 2 * len(inside) <= len(corners) else [c for c in corners if not code & _bit(c)]


@lru_cache(maxsize=1)
def neighbour_code_to_normals() -> np.ndarray:
    """``(256, 4, 3)`` area-weighted triangle normals (voxel units) per 3-D neighbourhood code."""
    table = np.zeros((256, 4, 3))
    for code in range(1, 255):
        normals = [
            n for comp in _components(_smaller_side(code, 3)) for n in _planar_triangles(_polygon(comp))
        ]
        table[code, : len(normals)] = normals
    return table


@lru_cache(maxsize=1)
def neighbour_code_to_segments() -> np.ndarray:
    """``(16, 2, 2)`` contour segments (as vectors, voxel units) per 2-D neighbourhood code."""
    table = np.zeros((16, 2, 2))
    for code in range(1, 15):
        for i, comp in enumerate(_components(_smaller_side(code, 2))):
            a, b = ((np.array(p, float) + np.array(q, float)) / 2 for p, q in _cut_edges(comp, 2))
            table[code, i] = b - a
    return table


def element_areas(spacing: Sequence[float]) -> np.ndarray:
    """Surface area (3-D, mm^2) or contour length (2-D, mm) of the element of every code (read-only)."""
    return _element_areas(tuple(float(v) for v in spacing))


@lru_cache(maxsize=64)
def _element_areas(spacing: tuple[float, ...]) -> np.ndarray:
    s = np.asarray(spacing, dtype=np.float64)
    if s.size == 3:
        cofactor = np.array([s[1] * s[2], s[0] * s[2], s[0] * s[1]])
        areas = np.linalg.norm(neighbour_code_to_normals() * cofactor, axis=-1).sum(-1)
    elif s.size == 2:
        areas = np.linalg.norm(neighbour_code_to_segments() * s, axis=-1).sum(-1)
    else:
        raise ValueError(f"surface elements need a 2-D or 3-D mask, got spacing {tuple(s)}")
    areas.flags.writeable = False  # cached and shared
    return areas


def neighbour_codes(mask: np.ndarray) -> np.ndarray:
    """Codes of all 2^d windows of ``mask`` (shape: ``mask.shape - 1``), as uint8.

    Built axis by axis from the last: each step joins the partial codes of the lower and upper
    neighbour along one axis, so a 3-D mask takes three vectorised passes.
    """
    codes: np.ndarray = mask.astype(np.uint8)
    bits = 1
    for axis in reversed(range(mask.ndim)):
        lower = [slice(None)] * mask.ndim
        upper = [slice(None)] * mask.ndim
        lower[axis], upper[axis] = slice(0, -1), slice(1, None)
        codes = (codes[tuple(lower)] << bits) | codes[tuple(upper)]
        bits *= 2
    return codes
