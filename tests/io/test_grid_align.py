"""Axis permutations and flips between two storages of one grid (medseg.io.grid_align), against
SimpleITK's nearest-neighbour resampling of one grid onto the other (exact where the centres match)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from medseg.io.geometry import Geometry
from medseg.io.grid_align import align_array, axis_map


def _sitk(array: np.ndarray, geometry: Geometry) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(geometry.spacing)
    image.SetOrigin(geometry.origin)
    image.SetDirection(geometry.direction)
    return image


def _geometry(image: sitk.Image) -> Geometry:
    return Geometry(image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def _flipped_copy(source: sitk.Image, flip_axes: list[bool]) -> sitk.Image:
    """The same voxels stored with some ITK axes reversed (new origin and direction, same centres)."""
    return sitk.Flip(source, flip_axes, flipAboutOrigin=False)


def test_a_flipped_storage_is_undone_exactly() -> None:
    rng = np.random.default_rng(0)
    array = rng.integers(0, 4, size=(6, 7, 8)).astype(np.uint8)
    source = _sitk(array, Geometry((0.8, 0.9, 2.5), (10.0, -4.0, 3.0), tuple(np.eye(3).ravel())))
    target = _flipped_copy(source, [False, True, False])  # TotalSegmentator's label: y reversed
    mapping = axis_map(_geometry(source), array.shape, _geometry(target), target.GetSize()[::-1])
    assert mapping is not None
    aligned = align_array(array[None], *mapping)[0]
    reference = sitk.GetArrayFromImage(
        sitk.Resample(source, target, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    )
    np.testing.assert_array_equal(aligned, reference)
    assert not np.array_equal(aligned, array)


def test_a_permuted_storage_is_undone_exactly() -> None:
    rng = np.random.default_rng(1)
    array = rng.integers(0, 3, size=(5, 6, 7)).astype(np.uint8)
    source = _sitk(array, Geometry((1.0, 1.5, 2.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel())))
    target = sitk.PermuteAxes(source, [2, 0, 1])
    mapping = axis_map(_geometry(source), array.shape, _geometry(target), target.GetSize()[::-1])
    assert mapping is not None
    aligned = align_array(array[None], *mapping)[0]
    np.testing.assert_array_equal(aligned, sitk.GetArrayFromImage(target))


def test_grids_with_other_voxel_centres_have_no_map() -> None:
    shape = (4, 5, 6)
    source = Geometry((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    shifted = Geometry((1.0, 1.0, 1.0), (0.5, 0.0, 0.0), tuple(np.eye(3).ravel()))
    finer = Geometry((0.5, 1.0, 1.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    assert axis_map(source, shape, shifted, shape) is None
    assert axis_map(source, shape, finer, shape) is None
    assert axis_map(source, shape, source, (4, 5, 7)) is None  # same start, another extent
    assert axis_map(source, shape, source, shape) == ((0, 1, 2), (False, False, False))
