"""Bad input: every problem is a DatasetError/ImageReadError with one line naming the file and the fault."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medseg.core.errors import DatasetError, ImageReadError, MedsegError
from medseg.data import ConcatCaseDataset, MSDDataset, NNUNetDataset, TableDataset
from medseg.data.datasets.detect import open_dataset

SHAPE = (3, 4, 5)


def _write(
    path: Path,
    array: np.ndarray,
    spacing: tuple[float, ...] = (1.0, 1.0, 1.0),
    origin: tuple[float, ...] = (0.0, 0.0, 0.0),
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    sitk.WriteImage(img, str(path))
    return path


def _msd(root: Path, n: int = 2) -> Path:
    training = []
    for i in range(n):
        _write(root / "imagesTr" / f"c{i}.nii.gz", np.full(SHAPE, i, np.float32))
        _write(root / "labelsTr" / f"c{i}.nii.gz", np.ones(SHAPE, np.uint8))
        training.append({"image": f"./imagesTr/c{i}.nii.gz", "label": f"./labelsTr/c{i}.nii.gz"})
    meta = {"modality": {"0": "CT"}, "labels": {"0": "background", "1": "organ"}, "training": training}
    (root / "dataset.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return root


def _one_line(exc: pytest.ExceptionInfo[MedsegError], *needles: str) -> None:
    text = str(exc.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"


def test_dataset_json_pointing_at_missing_file(tmp_path: Path) -> None:
    root = _msd(tmp_path)
    (root / "labelsTr" / "c1.nii.gz").unlink()
    with pytest.raises(DatasetError) as exc:
        MSDDataset(root)
    _one_line(exc, str(root / "dataset.json"), str(root / "labelsTr" / "c1.nii.gz"), "does not exist")


def test_malformed_dataset_json_gives_line_and_column(tmp_path: Path) -> None:
    root = _msd(tmp_path)
    (root / "dataset.json").write_text('{\n "modality": {"0": "CT"},\n "training": [,]\n}', encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        MSDDataset(root)
    _one_line(exc, str(root / "dataset.json"), "invalid JSON at line 3, column 15")
    (root / "dataset.json").write_text('{"labels": {"0": "bg"}}', encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        MSDDataset(root)
    _one_line(exc, "dataset.json", "required key 'training' is missing")


def test_missing_file_at_load_time(tmp_path: Path) -> None:
    ds = MSDDataset(_msd(tmp_path))
    (tmp_path / "imagesTr" / "c0.nii.gz").unlink()
    with pytest.raises(ImageReadError) as exc:
        ds[0]
    _one_line(exc, str(tmp_path / "imagesTr" / "c0.nii.gz"), "does not exist")


def test_shape_mismatch_names_case_and_files(tmp_path: Path) -> None:
    root = _msd(tmp_path)
    _write(root / "labelsTr" / "c1.nii.gz", np.ones((3, 4, 6), np.uint8))
    ds = MSDDataset(root)
    with pytest.raises(DatasetError) as exc:
        ds[1]
    _one_line(
        exc,
        "case c1",
        str(root / "labelsTr" / "c1.nii.gz"),
        "shape (3, 4, 6)",
        str(root / "imagesTr" / "c1.nii.gz"),
        "(3, 4, 5)",
    )
    with pytest.raises(DatasetError) as exc:
        ds.check(progress=False)
    _one_line(exc, "1 of 2 cases are invalid", "case c1", "shape (3, 4, 6)")


def test_geometry_mismatch_names_case_and_files(tmp_path: Path) -> None:
    root = _msd(tmp_path)
    _write(root / "labelsTr" / "c0.nii.gz", np.ones(SHAPE, np.uint8), spacing=(1.0, 1.0, 2.0))
    _write(root / "labelsTr" / "c1.nii.gz", np.ones(SHAPE, np.uint8), origin=(0.0, 5.0, 0.0))
    ds = MSDDataset(root)
    with pytest.raises(DatasetError) as exc:
        ds[0]
    _one_line(
        exc,
        "case c0",
        str(root / "labelsTr" / "c0.nii.gz"),
        "geometry",
        "spacing (1, 1, 2)",
        "spacing (1, 1, 1)",
    )
    with pytest.raises(DatasetError) as exc:
        ds.check(progress=False, max_listed=1)
    _one_line(exc, "2 of 2 cases are invalid", "case c0", "and 1 more")


def test_channel_files_on_different_grids(tmp_path: Path) -> None:
    for c in range(2):
        spacing = (1.0, 1.0, 1.0 + c)
        _write(tmp_path / "imagesTr" / f"p_{c:04d}.nii.gz", np.zeros(SHAPE, np.float32), spacing=spacing)
    _write(tmp_path / "labelsTr" / "p.nii.gz", np.zeros(SHAPE, np.uint8))
    meta = {"channel_names": {"0": "T1", "1": "T2"}, "labels": {"background": 0}, "file_ending": ".nii.gz"}
    (tmp_path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    ds = NNUNetDataset(tmp_path)
    for action in (lambda: ds[0], lambda: ds.check_case(0)):
        with pytest.raises(DatasetError) as exc:
            action()
        _one_line(exc, "case p", "channel file", str(tmp_path / "imagesTr" / "p_0001.nii.gz"), "geometry")


def test_nnunet_missing_channel_and_label(tmp_path: Path) -> None:
    _write(tmp_path / "imagesTr" / "p_0000.nii.gz", np.zeros(SHAPE, np.float32))
    meta = {"channel_names": {"0": "T1", "1": "T2"}, "labels": {"background": 0}, "file_ending": ".nii.gz"}
    (tmp_path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        NNUNetDataset(tmp_path)
    _one_line(exc, str(tmp_path / "imagesTr" / "p_0001.nii.gz"), "channel file of case p is missing")
    _write(tmp_path / "imagesTr" / "p_0001.nii.gz", np.zeros(SHAPE, np.float32))
    with pytest.raises(DatasetError) as exc:
        NNUNetDataset(tmp_path)
    _one_line(exc, str(tmp_path / "labelsTr" / "p.nii.gz"), "label file of case p does not exist")


def test_corrupt_gzip(tmp_path: Path) -> None:
    root = _msd(tmp_path)
    path = root / "imagesTr" / "c1.nii.gz"
    data = path.read_bytes()
    path.write_bytes(data[:20] + bytes(len(data) - 20))
    with pytest.raises(ImageReadError) as exc:
        MSDDataset(root)[1]
    _one_line(exc, str(path), "cannot be read")


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "scan.xyz").write_bytes(b"not an image")
    (tmp_path / "t.csv").write_text("image,label\nscan.xyz,\n", encoding="utf-8")
    with pytest.raises(ImageReadError) as exc:
        TableDataset(tmp_path / "t.csv")[0]
    _one_line(exc, str(tmp_path / "scan.xyz"), "unsupported image extension '.xyz'")


def test_label_with_non_integer_values(tmp_path: Path) -> None:
    root = _msd(tmp_path)
    _write(root / "labelsTr" / "c0.nii.gz", np.full(SHAPE, 0.5, np.float32))
    with pytest.raises(ImageReadError) as exc:
        MSDDataset(root)[0]
    _one_line(exc, str(root / "labelsTr" / "c0.nii.gz"))
    assert "integer" in str(exc.value)


def test_nan_voxels(tmp_path: Path) -> None:
    # MetaImage keeps NaN on disk; SimpleITK's NIfTI reader turns NaN into 0, so .nii.gz cannot test this.
    image = np.zeros(SHAPE, np.float32)
    image[1, 2, 3] = np.nan
    _write(tmp_path / "scan.mha", image)
    _write(tmp_path / "seg.mha", np.zeros(SHAPE, np.uint8))
    (tmp_path / "t.csv").write_text("image,label\nscan.mha,seg.mha\n", encoding="utf-8")
    with pytest.raises(ImageReadError) as exc:
        TableDataset(tmp_path / "t.csv")[0]
    _one_line(exc, str(tmp_path / "scan.mha"))
    assert "NaN" in str(exc.value)


def test_concat_id_clash_and_unknown_format(tmp_path: Path) -> None:
    a = MSDDataset(_msd(tmp_path / "a"))
    b = MSDDataset(_msd(tmp_path / "b", n=3))
    with pytest.raises(DatasetError) as exc:
        ConcatCaseDataset([a, b])
    _one_line(exc, "case id(s) appear in more than one dataset: c0, c1")
    with pytest.raises(DatasetError) as exc:
        open_dataset(tmp_path)
    _one_line(exc, str(tmp_path), "not a recognised dataset")
