"""Values on read: integer labels, NaN/inf images, clear one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medseg.core.errors import ImageReadError
from medseg.io import read_image


def _write(array: np.ndarray, path: Path) -> Path:
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    return path


def test_float_label_with_whole_numbers_becomes_integer(tmp_path: Path) -> None:
    values = np.array([[[0.0, 1.0], [2.0, 300.0]]], dtype=np.float32)
    label = read_image(_write(values, tmp_path / "l.nii.gz"), is_label=True)
    assert label.array.dtype == np.uint16  # the smallest integer type holding 0..300
    np.testing.assert_array_equal(label.array[0], values.astype(np.int64))
    negative = read_image(_write(np.array([[[-1.0, 2.0]]]), tmp_path / "n.nii.gz"), is_label=True)
    assert negative.array.dtype == np.int16
    np.testing.assert_array_equal(negative.array[0], [[[-1, 2]]])


def test_integer_label_keeps_dtype(tmp_path: Path) -> None:
    values = np.array([[[0, 1], [2, 5]]], dtype=np.int32)
    label = read_image(_write(values, tmp_path / "l.nii.gz"), is_label=True)
    assert label.array.dtype == np.int32
    np.testing.assert_array_equal(label.array[0], values)


def test_label_with_fractions_is_rejected(tmp_path: Path) -> None:
    path = _write(np.array([[[0.0, 0.5], [1.0, 1.25]]], dtype=np.float32), tmp_path / "frac.nii.gz")
    with pytest.raises(
        ImageReadError, match=r"frac\.nii\.gz: label has 2 non-integer values \(e\.g\. 0\.5\)$"
    ):
        read_image(path, is_label=True)


def test_label_with_nan_is_rejected(tmp_path: Path) -> None:
    # MetaImage keeps NaN; ITK's NIfTI reader turns NaN into 0 before medseg sees it.
    path = _write(np.array([[[0.0, np.nan], [1.0, np.nan]]], dtype=np.float32), tmp_path / "nan.mha")
    with pytest.raises(ImageReadError, match=r"nan\.mha: label has 2 NaN voxels$"):
        read_image(path, is_label=True)


def test_image_with_nan_and_inf_is_rejected_with_count(tmp_path: Path) -> None:
    array = np.zeros((2, 3, 4), dtype=np.float32)
    array[0, 0, 0] = np.nan
    array[1, 2, 3] = np.inf
    array[1, 1, 1] = -np.inf
    path = _write(array, tmp_path / "bad.mha")
    with pytest.raises(
        ImageReadError,
        match=r"bad\.mha: image has 3 NaN/inf voxels \(set dataset_info\.nonfinite: "
        r"minimum to replace them with the channel's smallest finite value\)$",
    ) as info:
        read_image(path)
    assert "\n" not in str(info.value)


def test_finite_float_image_reads(tmp_path: Path) -> None:
    array = np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_image(_write(array, tmp_path / "ok.nrrd")).array[0], array)


# --- NaN/inf in NIfTI: ITK reads them as 0, medseg finds them in the raw data ----------------------------------


def _nifti_with_nonfinite(path: Path, dtype: type = np.float32) -> tuple[Path, np.ndarray]:
    """A float NIfTI file with 2 NaN, 1 +inf, 1 -inf and zeros elsewhere too; returns it and the truth."""
    array = np.arange(60, dtype=dtype).reshape(3, 4, 5) - 10  # holds a genuine 0 as well
    array[0, 1, 2] = np.nan
    array[2, 3, 4] = np.nan
    array[1, 0, 0] = np.inf
    array[1, 2, 1] = -np.inf
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    return path, array


def test_itk_really_hides_nan_in_nifti(tmp_path: Path) -> None:
    """The premise: SimpleITK returns 0 where the NIfTI file holds NaN/inf (so medseg must look itself)."""
    path, truth = _nifti_with_nonfinite(tmp_path / "x.nii.gz")
    seen = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    assert np.isfinite(seen).all() and (seen[~np.isfinite(truth)] == 0).all()


@pytest.mark.parametrize("name", ["nan.nii.gz", "nan.nii"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_in_nifti_is_refused_with_the_count(tmp_path: Path, name: str, dtype: type) -> None:
    path, _ = _nifti_with_nonfinite(tmp_path / name, dtype)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(info.value) == (
        f"{path}: image has 4 NaN/inf voxels (set dataset_info.nonfinite: minimum to "
        "replace them with the channel's smallest finite value)"
    )


def test_nan_in_a_nifti_label_is_refused(tmp_path: Path) -> None:
    array = np.zeros((2, 3, 4), dtype=np.float32)
    array[0, 0, 1] = np.nan
    path = _write(array, tmp_path / "label.nii.gz")
    with pytest.raises(ImageReadError, match=r"label\.nii\.gz: label has 1 NaN/inf voxels$"):
        read_image(path, is_label=True)


@pytest.mark.parametrize("name", ["min.nii.gz", "min.mha", "min.nrrd"])
def test_minimum_policy_replaces_exactly_the_nonfinite_voxels(tmp_path: Path, name: str) -> None:
    path, truth = _nifti_with_nonfinite(tmp_path / name)
    read = read_image(path, nonfinite="minimum").array[0]
    bad = ~np.isfinite(truth)
    expected = np.where(bad, np.nanmin(np.where(np.isinf(truth), np.nan, truth)), truth)
    np.testing.assert_array_equal(read, expected)
    assert read[bad].tolist() == [-10.0] * 4 and read[truth == 0].tolist() == [0.0]


def test_minimum_policy_is_per_channel_of_a_4d_file(tmp_path: Path) -> None:
    array = np.stack([np.full((2, 3, 4), 5.0, np.float32), np.full((2, 3, 4), -7.0, np.float32)])
    array[0, 0, 0, 0] = array[0, 1, 1, 1] = 2.0
    array[0, 1, 2, 3] = np.nan
    array[1, 0, 1, 0] = np.inf
    array[1, 0, 0, 1] = -9.0
    image = sitk.JoinSeries([sitk.GetImageFromArray(a) for a in array])  # 4D: channels on the 4th axis
    path = tmp_path / "two.nii.gz"
    sitk.WriteImage(image, str(path))
    with pytest.raises(ImageReadError, match="image has 2 NaN/inf voxels"):
        read_image(path)
    out = read_image(path, nonfinite="minimum").array
    assert out.shape == (2, 2, 3, 4)
    assert out[0, 1, 2, 3] == 2.0 and out[1, 0, 1, 0] == -9.0
    assert np.isfinite(out).all()


def test_a_channel_without_finite_voxels_is_refused_even_with_minimum(tmp_path: Path) -> None:
    path = _write(np.full((2, 2, 2), np.nan, dtype=np.float32), tmp_path / "all.nii")
    with pytest.raises(
        ImageReadError, match=r"all\.nii: channel 0 has no finite voxel \(all 8 are NaN/inf\)$"
    ):
        read_image(path, nonfinite="minimum")


def test_big_endian_nifti_is_scanned_too(tmp_path: Path) -> None:
    import nibabel as nib

    array = np.ones((3, 4, 5), dtype=">f4")
    array[1, 2, 3] = np.nan
    array[0, 0, 0] = 0.0
    path = tmp_path / "be.nii"
    header = nib.Nifti1Header(endianness=">")
    header.set_data_dtype(">f4")
    nib.save(nib.Nifti1Image(array, np.eye(4), header=header), str(path))
    assert nib.load(str(path)).header.endianness == ">"
    with pytest.raises(ImageReadError, match="image has 1 NaN/inf voxels"):
        read_image(path)


def test_finite_float_nifti_with_zeros_reads_unchanged(tmp_path: Path) -> None:
    array = np.zeros((4, 5, 6), dtype=np.float32)
    array[1:3, 1:3, 1:3] = 7.5
    np.testing.assert_array_equal(read_image(_write(array, tmp_path / "ok.nii.gz")).array[0], array)


def test_the_scan_reads_every_member_of_a_multi_member_gzip(tmp_path: Path) -> None:
    import gzip

    from medseg.io.nifti_check import nifti_nonfinite

    path, truth = _nifti_with_nonfinite(tmp_path / "one.nii")
    raw = path.read_bytes()
    split = tmp_path / "two.nii.gz"
    split.write_bytes(gzip.compress(raw[:400]) + gzip.compress(raw[400:]))  # header and data in two members
    expected = np.flatnonzero(~np.isfinite(truth))
    np.testing.assert_array_equal(nifti_nonfinite(split), expected)
    np.testing.assert_array_equal(nifti_nonfinite(path), expected)
