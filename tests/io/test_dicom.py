"""DICOM series: slice order, geometry, series choice, and alignment with the TotalSegmentator label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from medseg.core.errors import ImageReadError
from medseg.io import Image, list_dicom_series, read_dicom_series, read_image
from medseg.io.resample import resample_like

TOTALSEG = "TotalSegmentator_examples"


@pytest.fixture(scope="module")
def ct_and_label(shared_data: Path) -> tuple[Image, Image]:
    """The real CT series and its y-flipped multi-organ label, read once for this module."""
    ct = read_image(shared_data / TOTALSEG / "example_ct_dicom")
    label = read_image(shared_data / TOTALSEG / "example_seg_dicom.nii.gz", is_label=True)
    return ct, label


def test_real_ct_series_matches_pydicom_sorted_by_position(
    shared_data: Path, ct_and_label: tuple[Image, Image]
) -> None:
    folder = shared_data / TOTALSEG / "example_ct_dicom"
    ct = ct_and_label[0]
    assert ct.array.shape == (1, 20, 512, 512)
    assert ct.meta["modality"] == "CT" and "series_uid" in ct.meta
    np.testing.assert_allclose(ct.geometry.spacing, (0.9765625, 0.9765625, 2.0))
    slices = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]
    slices.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    assert ct.geometry.origin == tuple(float(v) for v in slices[0].ImagePositionPatient)
    for k in (0, 7, 19):
        d = slices[k]
        hu = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
        np.testing.assert_array_equal(ct.array[0, k], hu)


def test_label_voxels_lie_inside_the_body(ct_and_label: tuple[Image, Image]) -> None:
    ct, label = ct_and_label
    zyx = np.argwhere(label.array[0] > 0)
    points = label.geometry.index_to_physical(zyx[:, ::-1].astype(np.float64))
    ct_xyz = np.rint(ct.geometry.physical_to_index(points)).astype(int)
    inside = np.all((ct_xyz >= 0) & (ct_xyz < np.array(ct.spatial_shape[::-1])), axis=1)
    assert inside.all()
    hu = ct.array[0][ct_xyz[:, 2], ct_xyz[:, 1], ct_xyz[:, 0]]
    assert np.mean(hu > -500) > 0.95
    # The same test with the y axis *not* accounted for fails: the check can tell.
    wrong = ct.array[0][zyx[:, 0], zyx[:, 1], zyx[:, 2]]
    assert np.mean(wrong > -500) < 0.95


def test_label_resampled_to_ct_grid_is_a_pure_y_flip(ct_and_label: tuple[Image, Image]) -> None:
    ct, label = ct_and_label
    on_ct = resample_like(label, ct, is_label=True)
    assert on_ct.array.dtype == label.array.dtype
    assert on_ct.geometry == ct.geometry
    assert np.array_equal(on_ct.array, label.array[:, :, ::-1, :])


def _write_series(folder: Path, uid: str, num_slices: int, z0: float, value: int) -> None:
    """Write a tiny synthetic DICOM series, slice files named in reverse order of position."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(num_slices):
        pixels = np.full((4, 5), value + k, dtype=np.int16)
        img = sitk.GetImageFromArray(pixels)
        img.SetSpacing((0.75, 0.5))
        for tag, text in {
            "0008|0060": "MR",
            "0020|000d": "1.2.826.0.1.3680043.2.1125.1",
            "0020|000e": uid,
            "0008|0018": f"{uid}.{k + 1}",
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0020|0032": f"-3.5\\7.25\\{z0 + 2.5 * k}",
            "0020|0013": str(k + 1),
        }.items():
            img.SetMetaData(tag, text)
        writer.SetFileName(str(folder / f"{uid}_{num_slices - k:03d}.dcm"))
        writer.Execute(img)


def test_series_choice_largest_by_default_and_by_uid(tmp_path: Path) -> None:
    small, large = "1.2.826.0.1.3680043.2.1125.10", "1.2.826.0.1.3680043.2.1125.20"
    _write_series(tmp_path, small, 2, 0.0, 100)
    _write_series(tmp_path, large, 4, -10.0, 200)
    assert {uid: len(files) for uid, files in list_dicom_series(tmp_path).items()} == {small: 2, large: 4}
    chosen = read_dicom_series(tmp_path)
    assert chosen.meta["series_uid"] == large
    assert chosen.spatial_shape == (4, 4, 5)
    # Files were named in reverse order: GDCM sorts by position, so values rise with z.
    np.testing.assert_array_equal(chosen.array[0, :, 0, 0], [200, 201, 202, 203])
    np.testing.assert_allclose(chosen.geometry.origin, (-3.5, 7.25, -10.0))
    np.testing.assert_allclose(chosen.geometry.spacing, (0.75, 0.5, 2.5))
    other = read_dicom_series(tmp_path, series_uid=small)
    assert other.meta["series_uid"] == small and other.spatial_shape == (2, 4, 5)
    with pytest.raises(
        ImageReadError, match=r"DICOM series '9\.9' not found \(available: '1\.2.*10', '1\.2.*20'\)"
    ):
        read_dicom_series(tmp_path, series_uid="9.9")


def test_empty_folder_is_not_a_series(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=rf"^{tmp_path}: no DICOM series found in this folder$"):
        read_image(tmp_path)


def test_single_dicom_file_reads_as_one_slice(shared_data: Path, tmp_path: Path) -> None:
    source = sorted((shared_data / TOTALSEG / "example_ct_dicom").iterdir())[0]
    (tmp_path / "slice.dcm").write_bytes(source.read_bytes())
    image = read_image(tmp_path / "slice.dcm")
    d = pydicom.dcmread(source)
    assert image.spatial_shape == (1, 512, 512)
    np.testing.assert_array_equal(
        image.array[0, 0], d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    )
    assert image.geometry.origin == tuple(float(v) for v in d.ImagePositionPatient)
