"""Bad files: each problem is an ImageReadError whose single-line message names the file."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from medseg.core.errors import ImageReadError, ImageWriteError
from medseg.io import Geometry, Image, read_image, write_image


def _raises(path: Path, pattern: str) -> None:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert re.search(pattern, message), message


def _volume(tmp_path: Path, name: str) -> Path:
    array = np.random.default_rng(0).normal(size=(1, 10, 12, 14)).astype(np.float32)
    return write_image(Image(array, Geometry.identity(3)), tmp_path / name)


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "absent.nii.gz", "file does not exist$")


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "scan.xyz").write_bytes(b"data")
    _raises(tmp_path / "scan.xyz", r"unsupported image extension '\.xyz' \(supported: \.nii\.gz, ")
    with pytest.raises(ImageWriteError, match=r"out\.xyz: unsupported image extension '\.xyz' for writing"):
        write_image(Image(np.zeros((1, 2, 2)), Geometry.identity(2)), tmp_path / "out.xyz")


def test_corrupt_gzip(tmp_path: Path) -> None:
    (tmp_path / "random.nii.gz").write_bytes(np.random.default_rng(0).bytes(4096))
    _raises(tmp_path / "random.nii.gz", r"cannot be read \(corrupt or not a \.nii\.gz file\)$")
    (tmp_path / "broken.nii.gz").write_bytes(gzip.compress(b"not a nifti header at all" * 50)[:-20])
    _raises(tmp_path / "broken.nii.gz", r"cannot be read \(corrupt or not a \.nii\.gz file\)$")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_truncated_nifti_is_not_zero_padded(tmp_path: Path, suffix: str) -> None:
    path = _volume(tmp_path, f"cut{suffix}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    _raises(path, r"truncated file \(\d+ of 7072 bytes of NIfTI data\)$")  # 352 + 10*12*14*4


@pytest.mark.parametrize("suffix", [".mha", ".nrrd", ".png"])
def test_truncated_other_formats(tmp_path: Path, suffix: str) -> None:
    if suffix == ".png":
        path = write_image(
            Image(np.arange(4096, dtype=np.uint16).reshape(1, 64, 64), Geometry.identity(2)),
            tmp_path / "cut.png",
        )
    else:
        path = _volume(tmp_path, f"cut{suffix}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _raises(path, r"cannot be read \(")


def test_empty_folder_is_not_a_dicom_series(tmp_path: Path) -> None:
    (tmp_path / "series").mkdir()
    _raises(tmp_path / "series", r"no DICOM series found in this folder$")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mha").write_bytes(b"")
    _raises(tmp_path / "empty.mha", r"cannot be read \(")
