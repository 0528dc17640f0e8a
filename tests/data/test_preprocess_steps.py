"""Each preprocessing step against an independent reference (scipy, MONAI, hand computation)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medseg.config.plan import NormalizationSpec
from medseg.core.errors import ConfigError
from medseg.data.preprocessing.crop import crop_to_box, nonzero_box, uncrop
from medseg.data.preprocessing.normalize import normalize
from medseg.data.preprocessing.orient import orientation_of, reorient
from medseg.data.preprocessing.resample import resample_array, resample_label, shape_for_spacing
from medseg.io import Geometry


def test_nonzero_box_matches_scipy_find_objects_and_uncrop_restores() -> None:
    rng = np.random.default_rng(1)
    image = np.zeros((2, 9, 10, 11), dtype=np.float32)
    image[0, 2:5, 3:7, 1:4] = rng.random((3, 4, 3)) + 1
    image[1, 4:8, 5:6, 6:10] = -1
    box = nonzero_box(image)
    expected = ndimage.find_objects(np.any(image != 0, axis=0).astype(int))[0]
    assert box == [(s.start, s.stop) for s in expected]
    restored = uncrop(crop_to_box(image, box), box, image.shape[1:])
    np.testing.assert_array_equal(restored, image)


def test_nonzero_box_of_empty_image_is_everything_and_fill_is_per_channel() -> None:
    assert nonzero_box(np.zeros((1, 3, 4))) == [(0, 3), (0, 4)]
    out = uncrop(np.full((2, 1, 1), 0.5), [(1, 2), (1, 2)], (3, 3), fill=[1.0, 0.0])
    assert out[0, 0, 0] == 1.0 and out[1, 0, 0] == 0.0 and out[1, 1, 1] == 0.5


def test_zscore_nonzero_uses_the_mask_of_any_channel_and_zeroes_outside() -> None:
    rng = np.random.default_rng(2)
    image = np.zeros((2, 6, 7, 8), dtype=np.float32)
    image[0, 1:5, 2:6, 1:7] = rng.normal(50, 10, (4, 4, 6))
    image[1, 0, 0, 0] = 3.0  # widens the shared mask by one voxel where channel 0 is 0
    ours = normalize(image, [NormalizationSpec(scheme="zscore_nonzero")] * 2)
    mask = np.zeros((6, 7, 8), dtype=bool)
    mask[1:5, 2:6, 1:7] = True
    mask[0, 0, 0] = True
    values = image[0][mask].astype(np.float64)
    expected = np.where(mask, (image[0] - values.mean()) / values.std(), 0.0)
    np.testing.assert_allclose(ours[0], expected, atol=1e-5)
    assert np.all(ours[1][~mask] == 0) and ours.dtype == np.float32


def test_ct_zscore_and_minmax_by_hand() -> None:
    image = np.array([[[-2000.0, -500.0], [100.0, 3000.0]]], dtype=np.float32)
    ct = NormalizationSpec(scheme="ct", clip_low=-1000, clip_high=1000, mean=100, std=200)
    np.testing.assert_allclose(normalize(image, [ct])[0], [[-5.5, -3.0], [0.0, 4.5]])
    z = normalize(image, [NormalizationSpec(scheme="zscore")])[0]
    np.testing.assert_allclose(z, (image[0] - image.mean()) / image.std(), rtol=1e-5)
    mm = normalize(image, [NormalizationSpec(scheme="minmax")])[0]
    np.testing.assert_allclose(mm, (image[0] + 2000) / 5000, rtol=1e-6)
    with pytest.raises(ConfigError, match="normalization"):
        normalize(image, [ct, ct])


def test_shape_for_spacing_keeps_extent() -> None:
    assert shape_for_spacing([10, 20, 30], [2.0, 1.0, 0.5], [1.0, 1.0, 1.5]) == [20, 20, 10]
    assert shape_for_spacing([3], [1.0], [10.0]) == [1]


def test_cubic_resampling_matches_map_coordinates_on_voxel_centres() -> None:
    rng = np.random.default_rng(3)
    image = rng.random((1, 6, 7, 5)).astype(np.float32)
    new_shape = (9, 4, 8)
    ours = resample_array(image, new_shape, order=3)
    # Independent reference: output voxel centre j sits at input coordinate (j + 0.5) * n_in / n_out - 0.5.
    axes = [(np.arange(o) + 0.5) * i / o - 0.5 for i, o in zip(image.shape[1:], new_shape, strict=True)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    reference = ndimage.map_coordinates(image[0].astype(np.float64), coords, order=3, mode="nearest")
    np.testing.assert_allclose(ours[0], reference, atol=1e-5)


def test_nearest_label_round_trip_is_exact_when_upsampling() -> None:
    rng = np.random.default_rng(4)
    label = rng.integers(0, 4, (1, 5, 6, 7)).astype(np.int16)
    up = resample_label(label, (10, 12, 14), "nearest")
    assert up.dtype == np.int16
    np.testing.assert_array_equal(up[0, ::2, ::2, ::2], label[0])
    np.testing.assert_array_equal(resample_label(up, (5, 6, 7), "nearest"), label)


def test_linear_per_label_equals_thresholded_linear_indicator_for_two_labels() -> None:
    label = np.zeros((1, 12, 12, 12), dtype=np.int16)
    label[0, 3:9, 2:7, 4:11] = 1
    label[0, 5, 5, 5] = 0
    new_shape = (7, 9, 5)
    ours = resample_label(label, new_shape, "linear_per_label")
    indicator = resample_array(label.astype(np.float32), new_shape, order=1)
    np.testing.assert_array_equal(ours[0], (indicator[0] > 0.5).astype(np.int16))


def test_separate_axis_is_nearest_along_it_and_spline_in_plane() -> None:
    rng = np.random.default_rng(5)
    image = rng.random((1, 3, 6, 6)).astype(np.float32)
    out = resample_array(image, (6, 9, 9), order=3, separate_axis=0, separate_order=0)
    in_plane = np.stack([ndimage.zoom(s, 1.5, order=3, mode="nearest", grid_mode=True) for s in image[0]])
    np.testing.assert_allclose(out[0], np.repeat(in_plane, 2, axis=0), atol=1e-5)


def test_reorient_lps_to_ras_flips_x_and_y_and_round_trips() -> None:
    geometry = Geometry.identity(3, (1.0, 2.0, 3.0))
    array = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    assert orientation_of(geometry) == "LPS"
    ras, ras_geometry = reorient(array, geometry, "ras")
    np.testing.assert_array_equal(ras, array[:, :, ::-1, ::-1])
    np.testing.assert_allclose(ras_geometry.direction_matrix, np.diag([-1.0, -1.0, 1.0]))
    # The same physical point sits at the first voxel of the reoriented grid and the last of the original.
    np.testing.assert_allclose(
        ras_geometry.index_to_physical(np.zeros(3)), geometry.index_to_physical([4, 3, 0])
    )
    back, back_geometry = reorient(ras, ras_geometry, "LPS")
    np.testing.assert_array_equal(back, array)
    assert back_geometry.is_close(geometry)
    with pytest.raises(ConfigError, match="orientation"):
        reorient(array, geometry, "RRS")


@pytest.mark.parametrize("new_shape", [(9, 4, 8), (3, 13, 2)])
def test_linear_resampling_matches_scipy_zoom(new_shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(6)
    image = rng.random((2, 6, 7, 5)).astype(np.float32)
    ours = resample_array(image, new_shape, order=1)
    for c in range(2):
        reference = ndimage.zoom(
            image[c], np.divide(new_shape, image.shape[1:]), order=1, mode="nearest", grid_mode=True
        )
        np.testing.assert_allclose(ours[c], reference, atol=1e-5)
    flat = resample_array(image[:, 0], new_shape[1:], order=1)
    reference_2d = ndimage.zoom(
        image[0, 0], np.divide(new_shape[1:], image.shape[2:]), order=1, mode="nearest", grid_mode=True
    )
    np.testing.assert_allclose(flat[0], reference_2d, atol=1e-5)
