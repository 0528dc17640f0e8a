"""Writing an image with its source geometry reproduces array and geometry on re-read.

MetaImage and NRRD store geometry as decimal text with enough digits to be exact; NIfTI stores
spacing, origin and direction as float32 (pixdim, quaternion, srow), so a geometry that is not
float32-representable (the synthetic oblique one) comes back within float32 rounding (about 1e-7
relative), while geometries read from NIfTI files come back exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medseg.io import Geometry, Image, read_image, write_image

SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd")
REAL_FILES = (
    "TotalSegmentator_examples/example_ct.nii.gz",
    "TotalSegmentator_examples/example_ct_sm.nii.gz",
    "TotalSegmentator_examples/example_mr_sm.nii.gz",
    "TotalSegmentator_examples/example_seg.nii.gz",
    "TotalSegmentator_examples/example_seg_dicom.nii.gz",
    "Task04_Hippocampus/imagesTr/hippocampus_007.nii.gz",
    "Task04_Hippocampus/labelsTr/hippocampus_007.nii.gz",
    "Task04_Hippocampus/imagesTr/hippocampus_033.nii.gz",
)


def _oblique_anisotropic() -> Image:
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    geometry = Geometry((0.7, 0.9, 3.1), (10.3, -20.7, 5.5), tuple(q.ravel().tolist()))
    array = np.random.default_rng(1).normal(size=(1, 5, 6, 7)).astype(np.float32)
    return Image(array, geometry)


def _assert_same(back: Image, image: Image, *, atol: float) -> None:
    assert back.array.dtype == image.array.dtype
    assert np.array_equal(back.array, image.array)
    for key in ("spacing", "origin", "direction"):
        np.testing.assert_allclose(
            getattr(back.geometry, key), getattr(image.geometry, key), rtol=0, atol=atol
        )


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_volumes_round_trip_exactly(shared_data: Path, tmp_path: Path, name: str) -> None:
    image = read_image(shared_data / name)
    for suffix in SUFFIXES:
        back = read_image(write_image(image, tmp_path / f"pred{suffix}"))
        _assert_same(back, image, atol=0.0)
        assert back.geometry == image.geometry


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_oblique_anisotropic_round_trip(tmp_path: Path, suffix: str) -> None:
    image = _oblique_anisotropic()
    back = read_image(write_image(image, tmp_path / f"pred{suffix}"))
    # Text headers are exact to float64 rounding; NIfTI's float32 fields to about 1e-6 mm.
    _assert_same(back, image, atol=1e-6 if suffix.startswith(".nii") else 1e-12)
    if suffix in (".mha", ".mhd"):
        assert back.geometry == image.geometry


@pytest.mark.parametrize(
    ("suffix", "reference"), [(".mhd", "ElementDataFile = pred.raw"), (".nhdr", "data file: pred.raw")]
)
def test_detached_header_names_the_final_data_file(tmp_path: Path, suffix: str, reference: str) -> None:
    image = _oblique_anisotropic()
    write_image(image, tmp_path / f"pred{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"pred{suffix}", "pred.raw"])
    assert reference in (tmp_path / f"pred{suffix}").read_text(encoding="utf-8")
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / f"pred{suffix}"))), image.array[0]
    )


def test_multichannel_and_2d_round_trip(tmp_path: Path) -> None:
    image = Image(
        np.arange(2 * 3 * 4 * 5, dtype=np.int16).reshape(2, 3, 4, 5), Geometry.identity(3, (0.5, 0.6, 2.0))
    )
    for suffix in (".mha", ".nrrd", ".nii.gz"):
        _assert_same(read_image(write_image(image, tmp_path / f"v{suffix}")), image, atol=1e-7)
    flat = Image(
        np.arange(12, dtype=np.float32).reshape(1, 3, 4), Geometry((0.3, 0.4), (1.5, -2.5), (0, 1, 1, 0))
    )
    for suffix in (".mha", ".nrrd"):
        back = read_image(write_image(flat, tmp_path / f"f{suffix}"))
        _assert_same(back, flat, atol=0.0)


def test_nii_gz_beside_a_nii_of_the_same_name_reads_itself(tmp_path: Path) -> None:
    geometry = Geometry.identity(3)
    write_image(Image(np.zeros((1, 2, 3, 4), np.uint8), geometry), tmp_path / "x.nii")
    write_image(Image(np.ones((1, 2, 3, 4), np.uint8), geometry), tmp_path / "x.nii.gz")
    assert read_image(tmp_path / "x.nii.gz").array.min() == 1  # niftilib alone would open x.nii
    assert read_image(tmp_path / "x.nii").array.max() == 0
