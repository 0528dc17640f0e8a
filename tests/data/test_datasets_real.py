"""Integration on the real data of ../shared/data: Task04 Hippocampus (MSD), DRIVE and ISBI 2012."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image as PILImage

from medseg.data import FolderPairDataset, MSDDataset


def test_all_hippocampus_cases_validate_and_some_load(shared_data: Path) -> None:
    root = shared_data / "Task04_Hippocampus"
    ds = MSDDataset(root)
    assert len(ds) == 208 and len(set(ds.case_ids)) == 208
    ds.check(progress=False)  # headers of all 416 files
    for index in range(0, 208, 21):  # 10 cases read fully, against nibabel as an independent reader
        case = ds[index]
        ref_image = nib.load(root / "imagesTr" / f"{case.case_id}.nii.gz")
        ref_label = np.asarray(nib.load(root / "labelsTr" / f"{case.case_id}.nii.gz").dataobj)
        np.testing.assert_allclose(case.image.array[0], np.asarray(ref_image.dataobj).T)
        assert case.label is not None
        np.testing.assert_array_equal(case.label.array[0], ref_label.T)
        assert set(np.unique(case.label.array)) <= {0, 1, 2}
        assert np.allclose(case.geometry.spacing, ref_image.header.get_zooms()[:3])


def test_drive_images_labels_and_masks(shared_data: Path) -> None:
    root = shared_data / "DRIVE" / "training"
    ds = FolderPairDataset(root / "images", root / "1st_manual", root / "mask")
    assert ds.case_ids == [str(n) for n in range(21, 41)]
    ds.check(progress=False)
    for case in ds:
        assert case.image.array.shape == (3, 584, 565)
        assert case.label is not None and case.mask is not None
        assert set(np.unique(case.label.array)) == {0, 255} and set(np.unique(case.mask.array)) == {0, 255}
    case = ds.case("21")
    rgb = np.asarray(PILImage.open(root / "images" / "21_training.tif").convert("RGB"))
    np.testing.assert_array_equal(case.image.array, np.moveaxis(rgb, -1, 0))
    vessels = np.asarray(PILImage.open(root / "1st_manual" / "21_manual1.gif").convert("L")) > 127
    np.testing.assert_array_equal(case.label.array[0], vessels * 255)  # type: ignore[union-attr]


def test_isbi_membrane_labels_keep_their_0_255_values(shared_data: Path) -> None:
    root = shared_data / "ISBI2012_membrane"
    ds = FolderPairDataset(root / "image", root / "label")
    assert ds.case_ids == [str(n) for n in range(len(ds))] and len(ds) == 24
    for index in (0, 9, 23):
        case = ds[index]
        assert case.image.array.shape == (1, 512, 512)
        assert case.label is not None and set(np.unique(case.label.array)) == {0, 255}
        raw = np.asarray(PILImage.open(root / "label" / f"{case.case_id}.png"))
        np.testing.assert_array_equal(case.label.array[0], raw)


def test_drive_and_isbi_folders_are_recognised_without_naming_the_sub_folders(shared_data: Path) -> None:
    from medseg.data.datasets.detect import open_dataset

    drive = open_dataset(shared_data / "DRIVE")  # descends into training/; images + 1st_manual + mask
    assert isinstance(drive, FolderPairDataset) and len(drive) == 20
    case = drive.case("21")
    assert (
        case.label is not None and case.mask is not None
    )  # 1st_manual is the label, mask/ the field of view
    vessels = np.asarray(PILImage.open(shared_data / "DRIVE" / "training" / "1st_manual" / "21_manual1.gif"))
    np.testing.assert_array_equal(case.label.array[0], vessels)
    isbi = open_dataset(shared_data / "ISBI2012_membrane")
    assert isinstance(isbi, FolderPairDataset) and len(isbi) == 24 and isbi.case("3").mask is None
