"""resample_to against scipy's map_coordinates on an oblique, anisotropic target grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from medseg.io import Geometry, Image
from medseg.io.resample import resample_like, resample_to


def _rotation(angle_deg: float) -> tuple[float, ...]:
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return tuple(rot.ravel().tolist())


def _target_points(geometry: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    zyx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3)
    return geometry.index_to_physical(zyx[:, ::-1].astype(np.float64))


def test_linear_matches_scipy_on_oblique_grid() -> None:
    rng = np.random.default_rng(0)
    source = Image(
        rng.normal(size=(2, 6, 9, 8)).astype(np.float32),
        Geometry((0.7, 0.9, 3.1), (1.0, -2.0, 0.5), _rotation(0)),
    )
    target_geom = Geometry((0.8, 0.6, 2.0), (2.0, -0.5, 1.5), _rotation(17))
    shape = (5, 7, 6)
    out = resample_to(source, target_geom, shape, is_label=False)
    assert out.array.shape == (2, *shape) and out.array.dtype == np.float32
    assert out.geometry == target_geom
    index_xyz = source.geometry.physical_to_index(_target_points(target_geom, shape))
    coords = index_xyz[:, ::-1].T  # (z, y, x) rows for scipy
    upper = np.array(source.spatial_shape)[:, None] - 1
    inside = np.all((coords >= 0) & (coords <= upper), axis=0)
    assert inside.sum() > 50  # the comparison covers many voxels
    for c in range(2):
        expected = map_coordinates(source.array[c].astype(np.float64), coords, order=1)
        np.testing.assert_allclose(out.array[c].ravel()[inside], expected[inside], rtol=1e-5, atol=1e-5)
        assert np.all(out.array[c].ravel()[~np.all((coords >= -0.5) & (coords <= upper + 0.5), axis=0)] == 0)


def test_nearest_for_labels_keeps_dtype_and_values() -> None:
    rng = np.random.default_rng(1)
    label = Image(
        rng.integers(0, 4, (1, 5, 6, 7)).astype(np.uint8), Geometry((1.0, 1.0, 2.0), (0.0,) * 3, _rotation(0))
    )
    target_geom = Geometry((0.5, 0.5, 1.0), (0.1, 0.1, 0.1), _rotation(30))
    shape = (8, 9, 10)
    out = resample_to(label, target_geom, shape, is_label=True, default_value=0)
    assert out.array.dtype == np.uint8
    index_xyz = label.geometry.physical_to_index(_target_points(target_geom, shape))
    coords = np.rint(index_xyz[:, ::-1].T)
    inside = np.all((coords >= 0) & (coords <= np.array(label.spatial_shape)[:, None] - 1), axis=0)
    expected = map_coordinates(label.array[0], coords, order=0)
    # Points exactly half-way between voxels may round either way; they are rare on this grid.
    agree = out.array[0].ravel()[inside] == expected[inside]
    assert agree.mean() > 0.99


def test_same_grid_is_identity_and_bool_masks_work() -> None:
    mask = Image(np.random.default_rng(2).random((1, 3, 4, 5)) > 0.5, Geometry.identity(3, (0.7, 0.9, 3.1)))
    same = resample_like(mask, mask, is_label=True)
    assert same.array.dtype == np.bool_
    np.testing.assert_array_equal(same.array, mask.array)


def test_shape_dimension_mismatch_is_an_error() -> None:
    image = Image(np.zeros((1, 2, 2, 2), np.float32), Geometry.identity(3))
    with pytest.raises(ValueError, match="reference geometry 3D, shape \\(2, 2\\)"):
        resample_to(image, Geometry.identity(3), (2, 2), is_label=False)
