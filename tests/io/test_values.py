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
    with pytest.raises(ImageReadError, match=r"bad\.mha: image has 3 NaN/inf voxels$") as info:
        read_image(path)
    assert "\n" not in str(info.value)


def test_finite_float_image_reads(tmp_path: Path) -> None:
    array = np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_image(_write(array, tmp_path / "ok.nrrd")).array[0], array)
