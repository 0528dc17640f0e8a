"""HD, HD95, ASSD and NSD against MONAI on random masks, and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance, compute_surface_dice
from scipy import ndimage
from scipy.spatial.distance import cdist

from medseg.metrics import (
    average_symmetric_surface_distance,
    directed_surface_distances,
    finite_or,
    hausdorff_distance,
    hd95,
    image_diagonal,
    normalized_surface_dice,
)


def _monai(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, ...], tol: float) -> list[float]:
    p, r = torch.from_numpy(pred)[None, None], torch.from_numpy(ref)[None, None]
    return [
        compute_hausdorff_distance(p, r, spacing=spacing).item(),
        compute_hausdorff_distance(p, r, spacing=spacing, percentile=95).item(),
        compute_average_surface_distance(p, r, spacing=spacing, symmetric=True).item(),
        compute_surface_dice(
            p, r, [tol], include_background=True, spacing=spacing, use_subvoxels=True
        ).item(),
    ]


def _ours(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, ...], tol: float) -> list[float]:
    return [
        hausdorff_distance(pred, ref, spacing),
        hd95(pred, ref, spacing),
        average_symmetric_surface_distance(pred, ref, spacing),
        normalized_surface_dice(pred, ref, tol, spacing),
    ]


@pytest.fixture(params=["edt", "kdtree", "grid", "grid_then_tree"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with each nearest-surface engine forced through the ``auto`` switch
    (``grid_then_tree``: a grid scan of one voxel only, so most points go on to the k-d tree)."""
    import medseg.metrics.surface_distance as sd
    import medseg.metrics.surface_engine as engine

    monkeypatch.setattr(sd, "DEFAULT_METHOD", "grid" if request.param.startswith("grid") else request.param)
    if request.param == "grid_then_tree":
        monkeypatch.setattr(engine, "GRID_RADIUS_VOXELS", 1)
    return str(request.param)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_masks_match_monai(ndim: int, seed: int, engine: str) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(9, 18, ndim))
    pred = ndimage.binary_opening(rng.random(shape) < 0.55)  # blobby
    ref = rng.random(shape) < 0.25  # speckle, touches the borders
    spacing = tuple(float(s) for s in rng.uniform(0.4, 2.5, ndim))
    tol = float(rng.uniform(0.5, 2.0))
    np.testing.assert_allclose(_ours(pred, ref, spacing, tol), _monai(pred, ref, spacing, tol), atol=1e-4)


def test_offset_blobs_far_apart_match_monai(engine: str) -> None:
    grid = np.indices((20, 24, 22)).astype(float)
    pred = ((grid - np.array([6, 8, 7])[:, None, None, None]) ** 2).sum(0) < 16
    ref = ((grid - np.array([12, 15, 13])[:, None, None, None]) ** 2).sum(0) < 20
    spacing = (2.0, 0.8, 1.1)
    np.testing.assert_allclose(_ours(pred, ref, spacing, 1.0), _monai(pred, ref, spacing, 1.0), atol=1e-4)


@pytest.mark.parametrize("method", ["edt", "kdtree", "grid"])
def test_directed_distances_match_brute_force(method: str) -> None:
    rng = np.random.default_rng(3)
    pred, ref = rng.random((7, 8, 6)) < 0.3, rng.random((7, 8, 6)) < 0.3
    spacing = (1.5, 0.5, 2.0)
    d_pr, d_rp = directed_surface_distances(pred, ref, spacing, method=method)  # type: ignore[misc]
    edge_p = pred & ~ndimage.binary_erosion(pred)
    edge_r = ref & ~ndimage.binary_erosion(ref)
    pts_p, pts_r = np.argwhere(edge_p) * spacing, np.argwhere(edge_r) * spacing
    np.testing.assert_allclose(d_pr, cdist(pts_p, pts_r).min(1), atol=1e-5)
    np.testing.assert_allclose(d_rp, cdist(pts_r, pts_p).min(1), atol=1e-5)


def test_shifted_cube_by_hand() -> None:
    ref = np.zeros((12, 12, 12), bool)
    ref[3:8, 3:8, 3:8] = True
    pred = np.roll(ref, 2, axis=0)  # shifted 2 voxels along axis 0, spacing 1.5 there -> 3 mm
    spacing = (1.5, 1.0, 1.0)
    assert hausdorff_distance(pred, ref, spacing) == pytest.approx(3.0)
    assert normalized_surface_dice(pred, ref, 10.0, spacing) == pytest.approx(1.0)
    assert normalized_surface_dice(pred, pred, 0.0, spacing) == pytest.approx(1.0)
    assert 0 < normalized_surface_dice(pred, ref, 1.0, spacing) < 1


def test_empty_conventions() -> None:
    empty, full = np.zeros((6, 6, 6), bool), np.zeros((6, 6, 6), bool)
    full[2:4, 2:4, 2:4] = True
    for fn in (hausdorff_distance, hd95, average_symmetric_surface_distance):
        assert fn(empty, empty) == 0.0
        assert fn(empty, empty, empty_value=-1.0) == -1.0
        assert fn(full, empty) == math.inf
        assert fn(empty, full) == math.inf
    assert normalized_surface_dice(empty, empty) == 1.0
    assert normalized_surface_dice(empty, empty, empty_value=0.0) == 0.0
    assert normalized_surface_dice(full, empty) == 0.0
    assert directed_surface_distances(full, empty) is None
    diagonal = image_diagonal((6, 6, 6), (1.0, 2.0, 2.0))
    assert diagonal == pytest.approx(math.sqrt(36 + 144 + 144))
    assert finite_or(hd95(full, empty), diagonal) == diagonal
    assert finite_or(2.5, diagonal) == 2.5


def test_bad_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="spacing"):
        hd95(np.ones((3, 3)), np.ones((3, 3)), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="percentile"):
        hausdorff_distance(np.ones((3, 3)), np.ones((3, 3)), percentile=101)
    with pytest.raises(ValueError, match="method"):
        directed_surface_distances(np.ones((3, 3)), np.ones((3, 3)), method="brute")
    with pytest.raises(ValueError, match="tolerance"):
        normalized_surface_dice(np.ones((3, 3)), np.ones((3, 3)), -1.0)


def test_distances_exactly_at_the_tolerance_count_as_within(engine: str) -> None:
    ref = np.zeros((10, 10, 10), bool)
    ref[3:7, 3:7, 3:7] = True
    pred = np.roll(ref, 1, axis=0)  # every surface distance is 0, 1.5 mm or more
    spacing = (1.5, 1.0, 1.0)
    expected = _monai(pred, ref, spacing, 1.5)[3]
    assert normalized_surface_dice(pred, ref, 1.5, spacing) == pytest.approx(expected, abs=1e-6)
    assert normalized_surface_dice(pred, ref, 1.5, spacing) > normalized_surface_dice(
        pred, ref, 1.49, spacing
    )
