"""Orientation codes and reorienting: exact round trips, voxels keep their physical positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medseg.io import Geometry, Image, read_image
from medseg.io.orientation import orientation_of, reorient

CODES = ("RAS", "LPS", "LAS", "ASL", "IRP", "PLI")


def _oblique_image() -> Image:
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    geometry = Geometry((0.7, 0.9, 3.1), (10.3, -20.7, 5.5), tuple(q.ravel().tolist()))
    array = np.random.default_rng(1).normal(size=(2, 4, 5, 6)).astype(np.float32)
    return Image(array, geometry, {"source": "synthetic"})


def _physical_of_values(image: Image) -> dict[float, np.ndarray]:
    zyx = np.argwhere(np.ones(image.spatial_shape, bool))
    points = image.geometry.index_to_physical(zyx[:, ::-1].astype(np.float64))
    return {float(v): p for v, p in zip(image.array[0][tuple(zyx.T)], points)}


def test_orientation_codes_of_known_directions() -> None:
    assert orientation_of(Geometry.identity(3)) == "LPS"
    assert orientation_of(Geometry((1, 1, 1), (0, 0, 0), (-1, 0, 0, 0, -1, 0, 0, 0, 1))) == "RAS"
    # Columns of the direction are the index axes: x -> +y (P), y -> +z (S), z -> +x (L).
    assert orientation_of(Geometry((1, 1, 1), (0, 0, 0), (0, 0, 1, 1, 0, 0, 0, 1, 0))) == "PSL"


@pytest.mark.parametrize("code", CODES)
def test_round_trip_and_physical_positions_on_oblique_volume(code: str) -> None:
    image = _oblique_image()
    original = orientation_of(image.geometry)
    turned = reorient(image, code)
    assert orientation_of(turned.geometry) == code
    np.testing.assert_array_equal(np.sort(turned.array.ravel()), np.sort(image.array.ravel()))
    before, after = _physical_of_values(image), _physical_of_values(turned)
    assert before.keys() == after.keys()
    for value, point in before.items():
        np.testing.assert_allclose(after[value], point, atol=1e-9)
    back = reorient(turned, original)
    assert np.array_equal(back.array, image.array) and back.array.dtype == image.array.dtype
    assert back.geometry.spacing == image.geometry.spacing
    assert back.geometry.direction == image.geometry.direction
    # The origin is recomputed in float64: equal up to rounding (a few 1e-15 mm).
    np.testing.assert_allclose(back.geometry.origin, image.geometry.origin, rtol=0, atol=1e-9)


def test_flipped_totalsegmentator_label(shared_data: Path) -> None:
    path = shared_data / "TotalSegmentator_examples" / "example_seg_dicom.nii.gz"
    label = read_image(path, is_label=True)
    assert orientation_of(label.geometry) == "LAS"
    lps = reorient(label, "LPS")
    assert lps.geometry.direction == Geometry.identity(3).direction
    assert np.array_equal(lps.array, label.array[:, :, ::-1, :])
    last_y = label.geometry.index_to_physical(np.array([0.0, label.spatial_shape[1] - 1, 0.0]))
    np.testing.assert_allclose(lps.geometry.origin, last_y, atol=1e-9)
    back = reorient(lps, "LAS")
    assert np.array_equal(back.array, label.array)
    assert back.geometry == label.geometry


def test_invalid_code_and_2d_image_are_errors() -> None:
    with pytest.raises(ValueError, match="'RAR' must name each of L/R, P/A, S/I once"):
        reorient(_oblique_image(), "RAR")
    with pytest.raises(ValueError, match="reorient needs a 3D image"):
        reorient(Image(np.zeros((1, 2, 2)), Geometry.identity(2)), "RAS")
