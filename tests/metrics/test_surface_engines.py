"""The exact-distance engines behind HD/HD95: grid scan, rank selection, percentile, crop helpers.

Each is checked against brute force (``scipy.spatial.distance.cdist`` / ``np.percentile`` of all
distances), with the size thresholds lowered so that every path (probe, skipped scan, cell
representatives, threshold retries, the ``at_most`` proof) runs on small inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.distance import cdist

import medseg.metrics.nearest_ranks as nr
import medseg.metrics.surface_percentile as spc
from medseg.metrics import hausdorff_distance, hd95
from medseg.metrics._inputs import bounding_box
from medseg.metrics.grid_nearest import nearest_on_grid, reach_voxels
from medseg.metrics.surface_distance import surface_voxels


def _blob(
    shape: tuple[int, ...], centre: tuple[float, ...], radius: float, rng: np.random.Generator
) -> np.ndarray:
    grid = np.indices(shape).astype(float)
    dist = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)))
    return (dist + rng.normal(0, 0.7, shape)) < radius


def _brute(src: np.ndarray, dst: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    return cdist(np.argwhere(src) * spacing, np.argwhere(dst) * spacing).min(axis=1)


def test_bounding_box_matches_argwhere() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        shape = tuple(int(n) for n in rng.integers(1, 9, rng.integers(1, 4)))
        mask = rng.random(shape) < rng.random() * 0.1
        box = bounding_box(mask, 2)
        if not mask.any():
            assert box is None
            continue
        idx = np.argwhere(mask)
        assert box == tuple((int(lo) - 2, int(hi) + 3) for lo, hi in zip(idx.min(0), idx.max(0), strict=True))


def test_surface_voxels_of_packed_masks_equal_each_mask_alone() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random((9, 10, 11)) < 0.6, rng.random((9, 10, 11)) < 0.4
    a[0], b[:, :, -1] = True, True  # touching the border takes the padded path
    both = surface_voxels(a.view(np.uint8) | (b.view(np.uint8) << 1))
    np.testing.assert_array_equal(both & 1, surface_voxels(a))
    np.testing.assert_array_equal(both >> 1, surface_voxels(b))
    np.testing.assert_array_equal(surface_voxels(a), a & ~ndimage.binary_erosion(a, border_value=0))


@pytest.mark.parametrize("give_up", [True, False])
def test_grid_scan_is_exact_and_stops_when_enough_points_are_settled(give_up: bool) -> None:
    rng = np.random.default_rng(2)
    spacing = (1.6, 0.7, 1.0)
    radius = 4 * max(spacing)
    pad = max(reach_voxels(spacing, radius))
    src = np.pad(surface_voxels(_blob((20, 24, 22), (9, 11, 10), 6, rng)), pad)
    dst = np.pad(surface_voxels(_blob((20, 24, 22), (11, 12, 10), 5, rng)), pad)
    truth = _brute(src, dst, spacing)
    flat = np.flatnonzero(src)
    out, left, scanned = nearest_on_grid(flat, dst, spacing, radius, give_up=give_up)
    settled = np.isfinite(out)
    np.testing.assert_allclose(out[settled], truth[settled], atol=1e-12)
    assert (truth[left] > scanned).all() and not settled[left].any()
    if not give_up:
        assert scanned == radius and np.array_equal(~settled, truth > radius * (1 + 1e-12))
    enough = int(0.3 * len(flat))
    out, left, scanned = nearest_on_grid(flat, dst, spacing, radius, enough=enough, give_up=give_up)
    assert enough <= len(flat) - len(left) < len(flat)  # stopped early, with enough settled
    assert out[np.isfinite(out)].max() <= scanned < truth[left].min()
    with pytest.raises(ValueError, match="C-contiguous"):
        nearest_on_grid(flat, np.asfortranarray(dst), spacing, radius)


def test_cell_ids_group_points_by_cell() -> None:
    rng = np.random.default_rng(3)
    voxels = rng.integers(5, 60, (500, 3))
    spacing = (2.0, 1.0, 0.5)
    ids, dims = nr.cell_ids(tuple(voxels.T), spacing)
    cells = voxels // np.maximum(1, np.round(nr.CELL_MM / np.asarray(spacing))).astype(int)
    assert ids.max() < np.prod(dims)
    same = ids[:, None] == ids[None, :]
    np.testing.assert_array_equal(same, (cells[:, None] == cells[None, :]).all(-1))


@pytest.mark.parametrize("around", [0.0, 1.0])  # exact queries on the full tree / on a tree of a box
@pytest.mark.parametrize("margin", [nr.FIRST_MARGIN, 1e-6])  # a tiny margin forces threshold retries
def test_nearest_distance_ranks_equal_sorting_all_distances(
    monkeypatch: pytest.MonkeyPatch, margin: float, around: float
) -> None:
    monkeypatch.setattr(nr, "MIN_POINTS", 64)
    monkeypatch.setattr(nr, "FIRST_MARGIN", margin)
    monkeypatch.setattr(nr, "AROUND_SHARE", around)
    rng = np.random.default_rng(4)
    spacing = (1.5, 0.8, 0.8)
    src = np.argwhere(surface_voxels(_blob((30, 40, 40), (14, 20, 20), 12, rng)))
    dst = np.argwhere(surface_voxels(_blob((30, 40, 40), (17, 21, 19), 9, rng)))
    points, targets = src * spacing, dst * spacing
    exact = np.sort(cdist(points, targets).min(axis=1))
    cells = nr.cell_ids(tuple(src.T), spacing)
    m = len(points)

    def trees() -> nr.TargetTrees:  # fresh, so that every call builds what it needs
        return nr.TargetTrees(targets, nr.cell_ids(tuple(dst.T), spacing))

    for ranks in (
        [0, 1],
        [m // 2, m // 2 + 1],
        [int(0.95 * (m - 1)), int(0.95 * (m - 1)) + 1],
        [m - 1, m - 1],
    ):
        got = nr.nearest_distance_ranks(points, cells, trees(), np.array(ranks))
        np.testing.assert_allclose(got, exact[ranks], atol=1e-12)
    top = np.array([int(0.95 * (m - 1)), int(0.95 * (m - 1)) + 1])
    # proven not above a limit above the value; computed exactly (not None) below it
    assert nr.nearest_distance_ranks(points, cells, trees(), top, at_most=exact[top[1]] + 1e-9) is None
    below = nr.nearest_distance_ranks(points, cells, trees(), top, at_most=exact[top[1]] * 0.99)
    np.testing.assert_allclose(below, exact[top], atol=1e-12)
    assert nr.nearest_distance_ranks(points, cells, trees(), top, at_most=1e9) is None  # bounds alone


def test_the_probe_lets_a_scan_settle_everything_when_the_surfaces_are_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spc, "PROBE_MIN_POINTS", 32)
    monkeypatch.setattr(spc, "PROBE_POINTS", 16)
    rng = np.random.default_rng(6)
    spacing = (1.2, 1.0, 0.9)
    ref = _blob((24, 30, 30), (12, 15, 15), 8, rng)
    pred = ndimage.binary_dilation(ref)  # every surface voxel within two voxels of the other surface
    edges_p, edges_r = surface_voxels(pred), surface_voxels(ref)
    for q in (95.0, 100.0):
        scan = spc._scan(
            spc._Surface(np.pad(edges_p, 6), spacing), spc._Surface(np.pad(edges_r, 6), spacing), q
        )
        assert scan.left is not None and len(scan.left) == 0  # no k-d tree needed
        expected = max(
            np.percentile(_brute(edges_p, edges_r, spacing), q),
            np.percentile(_brute(edges_r, edges_p, spacing), q),
        )
        assert hausdorff_distance(pred, ref, spacing, q) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("small_thresholds", [False, True])
@pytest.mark.parametrize("percentile", [0.0, 50.0, 95.0, 100.0])
def test_directed_percentile_equals_numpy_over_all_distances(
    monkeypatch: pytest.MonkeyPatch, percentile: float, small_thresholds: bool
) -> None:
    if small_thresholds:  # probe and skip the scan, then select with cell representatives
        monkeypatch.setattr(spc, "PROBE_MIN_POINTS", 32)
        monkeypatch.setattr(spc, "PROBE_POINTS", 16)
        monkeypatch.setattr(nr, "MIN_POINTS", 32)
    rng = np.random.default_rng(5)
    spacing = (2.0, 0.9, 0.7)
    src = surface_voxels(_blob((26, 40, 44), (12, 19, 20), 9, rng))
    dst = surface_voxels(_blob((26, 40, 44), (15, 22, 24), 8, rng))
    expected = np.percentile(_brute(src, dst, spacing), percentile)
    assert spc.directed_percentile(src, dst, spacing, percentile) == pytest.approx(expected, abs=1e-9)
    flat_src, flat_dst = src[13], dst[13]  # one slice: the same in 2-D
    expected = np.percentile(_brute(flat_src, flat_dst, spacing[1:]), percentile)
    assert spc.directed_percentile(flat_src, flat_dst, spacing[1:], percentile) == pytest.approx(
        expected, abs=1e-9
    )


def test_far_apart_surfaces_take_every_path_and_match_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spc, "PROBE_MIN_POINTS", 64)
    monkeypatch.setattr(nr, "MIN_POINTS", 64)
    calls: list[float] = []
    finish = spc._finish

    def spy(scan: spc._Scan, floor: float) -> float:
        calls.append(floor)
        return finish(scan, floor)

    monkeypatch.setattr(spc, "_finish", spy)
    z, y, x = np.ogrid[:48, :48, :48]
    pred = (z - 24) ** 2 + (y - 24) ** 2 + (x - 24) ** 2 < 16**2
    ref = (z - 27) ** 2 + (y - 25) ** 2 + (x - 22) ** 2 < 14**2
    spacing = (1.5, 0.8, 0.8)
    d_pr = _brute(surface_voxels(pred), surface_voxels(ref), spacing)
    d_rp = _brute(surface_voxels(ref), surface_voxels(pred), spacing)
    assert hd95(pred, ref, spacing) == pytest.approx(
        max(np.percentile(d_pr, 95), np.percentile(d_rp, 95)), abs=1e-9
    )
    assert calls[0] == -math.inf and calls[1] > 0  # the second direction only had to be bounded by the first
    assert hausdorff_distance(pred, ref, spacing) == pytest.approx(max(d_pr.max(), d_rp.max()), abs=1e-9)
