"""Dataset formats on small synthetic folders written with SimpleITK: MSD, nnU-Net, table, folder pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from medseg.core.errors import DatasetError
from medseg.data import (
    FolderPairDataset,
    MSDDataset,
    NNUNetDataset,
    TableDataset,
)
from medseg.data.datasets.detect import open_dataset
from medseg.data.folds import write_folds

SHAPE = (4, 5, 6)  # z, y, x
SPACING = (0.8, 0.9, 2.5)  # x, y, z
ORIGIN = (10.0, -3.0, 7.5)


def _write(
    path: Path, array: np.ndarray, spacing: tuple[float, ...] = SPACING, origin: tuple[float, ...] = ORIGIN
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    sitk.WriteImage(img, str(path))
    return path


def _volume(seed: int, dtype: type = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=SHAPE).astype(dtype)


def _label(seed: int, values: int = 3) -> np.ndarray:
    return np.random.default_rng(seed + 100).integers(0, values, size=SHAPE).astype(np.uint8)


def _make_msd(root: Path, n: int = 3) -> Path:
    training = []
    for i in range(n):
        _write(root / "imagesTr" / f"t_{i:03d}.nii.gz", _volume(i))
        _write(root / "labelsTr" / f"t_{i:03d}.nii.gz", _label(i))
        training.append({"image": f"./imagesTr/t_{i:03d}.nii.gz", "label": f"./labelsTr/t_{i:03d}.nii.gz"})
    (root / "imagesTr" / "._t_000.nii.gz").write_bytes(b"\x00\x05\x16\x07 mac resource fork")
    training.append({"image": "./imagesTr/._t_000.nii.gz", "label": "./labelsTr/._t_000.nii.gz"})
    meta = {
        "name": "T",
        "modality": {"0": "MRI"},
        "labels": {"0": "background", "1": "a", "2": "b"},
        "training": training,
    }
    (root / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return root


def test_msd_reads_cases_exactly(tmp_path: Path) -> None:
    ds = MSDDataset(_make_msd(tmp_path))
    assert ds.case_ids == ["t_000", "t_001", "t_002"] and len(ds) == 3
    assert ds.channel_names == ["MRI"] and ds.labels == {0: "background", 1: "a", 2: "b"}
    case = ds[1]
    ref_image = sitk.ReadImage(str(tmp_path / "imagesTr" / "t_001.nii.gz"))
    ref_label = sitk.ReadImage(str(tmp_path / "labelsTr" / "t_001.nii.gz"))
    assert case.case_id == "t_001"
    np.testing.assert_array_equal(case.image.array[0], sitk.GetArrayFromImage(ref_image))
    np.testing.assert_array_equal(case.label.array[0], sitk.GetArrayFromImage(ref_label))  # type: ignore[union-attr]
    assert case.label is not None and np.issubdtype(case.label.array.dtype, np.integer)
    assert case.image.array.shape == (1, *SHAPE) and case.label.array.shape == (1, *SHAPE)
    assert np.allclose(case.geometry.spacing, ref_image.GetSpacing()) and np.allclose(
        case.geometry.origin, ORIGIN
    )
    assert ds[-1].case_id == "t_002"
    with pytest.raises(IndexError):
        ds[3]
    ds.check(progress=False)
    assert isinstance(open_dataset(tmp_path), MSDDataset)


def test_msd_four_dimensional_image_becomes_channels(tmp_path: Path) -> None:
    channels = [_volume(1), _volume(2), _volume(3)]
    series = sitk.JoinSeries([sitk.GetImageFromArray(c) for c in channels])
    series.SetSpacing((*SPACING, 1.0))
    (tmp_path / "imagesTr").mkdir()
    sitk.WriteImage(series, str(tmp_path / "imagesTr" / "m_1.nii.gz"))
    _write(tmp_path / "labelsTr" / "m_1.nii.gz", _label(1), origin=(0.0, 0.0, 0.0))
    meta = {
        "modality": {"0": "FLAIR", "1": "T1w", "2": "T2w"},
        "labels": {"0": "background", "1": "tumour"},
        "training": [{"image": "./imagesTr/m_1.nii.gz", "label": "./labelsTr/m_1.nii.gz"}],
    }
    (tmp_path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    ds = MSDDataset(tmp_path)
    ds.check(progress=False)  # header path: 4th axis = 3 channels, grid equals the label's
    case = ds[0]
    assert case.image.array.shape == (3, *SHAPE)
    for c in range(3):
        np.testing.assert_array_equal(case.image.array[c], channels[c])
    assert np.allclose(case.geometry.spacing, SPACING)


def _make_nnunet(root: Path, cases: tuple[str, ...] = ("la_001", "la_002"), n_channels: int = 2) -> Path:
    for i, cid in enumerate(cases):
        for c in range(n_channels):
            _write(root / "imagesTr" / f"{cid}_{c:04d}.nrrd", _volume(10 * i + c))
        _write(root / "labelsTr" / f"{cid}.nrrd", _label(i))
    meta = {
        "channel_names": {str(c): f"ch{c}" for c in range(n_channels)},
        "labels": {"background": 0, "left": 1, "right": 2, "both": [1, 2]},
        "numTraining": len(cases),
        "file_ending": ".nrrd",
    }
    (root / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return root


def test_nnunet_stacks_channel_files_in_order(tmp_path: Path) -> None:
    ds = NNUNetDataset(_make_nnunet(tmp_path))
    assert ds.case_ids == ["la_001", "la_002"]
    assert ds.channel_names == ["ch0", "ch1"] and ds.labels == {0: "background", 1: "left", 2: "right"}
    assert [(r.name, r.labels, r.paint) for r in ds.regions or []] == [
        ("left", [1], None),
        ("right", [2], None),
        ("both", [1, 2], None),
    ]
    case = ds.case("la_002")
    for c in range(2):
        ref = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "imagesTr" / f"la_002_{c:04d}.nrrd")))
        np.testing.assert_array_equal(case.image.array[c], ref)
    np.testing.assert_array_equal(case.label.array[0], _label(1))  # type: ignore[union-attr]
    ds.check(progress=False)
    assert isinstance(open_dataset(tmp_path), NNUNetDataset)


def test_table_from_csv_and_dataframe(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path / "img" / f"a{i}.mha", _volume(i))
        _write(tmp_path / "img" / f"b{i}.mha", _volume(i + 50))
        _write(tmp_path / "seg" / f"s{i}.mha", _label(i))
    frame = pd.DataFrame(
        {
            "subject": ["p0", "p1", "p2"],
            "image_t1": [f"img/a{i}.mha" for i in range(3)],
            "image_t2": [f"img/b{i}.mha" for i in range(3)],
            "label": ["seg/s0.mha", "seg/s1.mha", ""],
        }
    )
    frame.to_csv(tmp_path / "cases.csv", index=False)
    ds = TableDataset(tmp_path / "cases.csv", id_column="subject")
    assert ds.case_ids == ["p0", "p1", "p2"]
    case = ds[1]
    np.testing.assert_array_equal(case.image.array, np.stack([_volume(1), _volume(51)]))
    np.testing.assert_array_equal(case.label.array[0], _label(1))  # type: ignore[union-attr]
    assert ds[2].label is None
    from_frame = TableDataset(frame, image_columns=["image_t2"], label_column=None, root=tmp_path)
    assert from_frame.case_ids == ["b0", "b1", "b2"]
    np.testing.assert_array_equal(from_frame[0].image.array[0], _volume(50))
    with pytest.raises(DatasetError, match=r"cases.csv: column\(s\) \['mask'\] not found"):
        TableDataset(tmp_path / "cases.csv", mask_column="mask")
    assert isinstance(open_dataset(tmp_path / "cases.csv"), TableDataset)


def test_folder_pairs_match_by_leading_number_and_keep_label_values(tmp_path: Path) -> None:
    planar = np.arange(30, dtype=np.float32).reshape(5, 6)
    for n in (2, 10, 1):
        _write(tmp_path / "images" / f"{n}_training.nrrd", planar + n, spacing=(1.0, 1.0), origin=(0.0, 0.0))
        _write(
            tmp_path / "manual" / f"{n}_manual1.nrrd",
            (planar > 12).astype(np.uint8) * 255,
            (1.0, 1.0),
            (0.0, 0.0),
        )
        _write(
            tmp_path / "mask" / f"{n}_training_mask.nrrd",
            (planar > 3).astype(np.uint8) * 255,
            (1.0, 1.0),
            (0.0, 0.0),
        )
    (tmp_path / "images" / "Thumbs.db").write_bytes(b"junk")
    ds = FolderPairDataset(tmp_path / "images", tmp_path / "manual", tmp_path / "mask")
    assert ds.case_ids == ["1", "2", "10"]
    case = ds.case("10")
    np.testing.assert_array_equal(case.image.array[0], planar + 10)
    np.testing.assert_array_equal(case.label.array[0], (planar > 12).astype(np.uint8) * 255)  # type: ignore[union-attr]
    np.testing.assert_array_equal(case.mask.array[0], (planar > 3).astype(np.uint8) * 255)  # type: ignore[union-attr]
    by_stem = FolderPairDataset(tmp_path / "images", match="stem")
    assert by_stem.case_ids == ["1_training", "2_training", "10_training"] and by_stem[0].label is None
    with pytest.raises(DatasetError, match=r"10_training.nrrd: no label file with key '10' in .*other"):
        (tmp_path / "other").mkdir()
        _write(tmp_path / "other" / "1.nrrd", planar, (1.0, 1.0), (0.0, 0.0))
        _write(tmp_path / "other" / "2.nrrd", planar, (1.0, 1.0), (0.0, 0.0))
        FolderPairDataset(tmp_path / "images", tmp_path / "other")


def test_subset_fold_split_and_folds_file(tmp_path: Path) -> None:
    ds = MSDDataset(_make_msd(tmp_path, n=6))
    sub = ds.subset(["t_004", "t_001"])
    assert sub.case_ids == ["t_004", "t_001"] and sub[0].case_id == "t_004" and sub.labels == ds.labels
    np.testing.assert_array_equal(sub[1].image.array, ds[1].image.array)
    with pytest.raises(DatasetError, match="unknown case id"):
        ds.subset(["t_999"])
    vals: list[str] = []
    for k in range(3):
        train, val = ds.fold(k, n_folds=3, seed=5)
        assert sorted(train.case_ids + val.case_ids) == ds.case_ids
        vals += val.case_ids
    assert sorted(vals) == ds.case_ids
    assert ds.fold(0, n_folds=3, seed=5)[1].case_ids == ds.fold(0, n_folds=3, seed=5)[1].case_ids
    train_all, val_all = ds.fold("all")
    assert train_all.case_ids == ds.case_ids == val_all.case_ids
    train, val = ds.split(val_percent=0.34, seed=0)
    assert len(val) == 2 and sorted(train.case_ids + val.case_ids) == ds.case_ids
    inner_train, inner_val = ds.fold(1, n_folds=3)[0].split(0.25)
    assert len(inner_val) == 1 and not set(inner_train.case_ids) & set(inner_val.case_ids)

    write_folds(tmp_path / "folds.json", {cid: int(cid[-1]) % 2 for cid in ds.case_ids})
    folded = ds.with_folds_file(tmp_path / "folds.json")
    assert folded.fold(1)[1].case_ids == ["t_001", "t_003", "t_005"]
    with pytest.raises(DatasetError, match="folds file defines 2 folds but n_folds=5"):
        folded.fold(0, n_folds=5)
    with pytest.raises(DatasetError, match="have no fold: t_000, t_001"):
        write_folds(tmp_path / "few.json", {"t_002": 0, "t_003": 1, "t_004": 0, "t_005": 1})
        ds.with_folds_file(tmp_path / "few.json")


def test_header_grid_equals_grid_of_full_read(tmp_path: Path) -> None:
    from medseg.data.datasets.grid import Grid, read_grid
    from medseg.io import read_image

    root = _make_msd(tmp_path / "msd", n=1)
    direction = (0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    rotated = sitk.GetImageFromArray(_volume(4))
    rotated.SetDirection(direction)
    rotated.SetSpacing(SPACING)
    sitk.WriteImage(rotated, str(tmp_path / "rotated.mha"))
    series = sitk.JoinSeries([sitk.GetImageFromArray(_volume(5)), sitk.GetImageFromArray(_volume(6))])
    sitk.WriteImage(series, str(tmp_path / "four_d.nii.gz"))
    for path in (root / "imagesTr" / "t_000.nii.gz", tmp_path / "rotated.mha", tmp_path / "four_d.nii.gz"):
        header, full = read_grid(path), Grid.of_image(path, read_image(path))
        assert (header.shape, header.channels) == (full.shape, full.channels)
        assert header.geometry.is_close(full.geometry, rtol=0, atol=1e-9)
    assert read_grid(tmp_path / "rotated.mha").geometry.direction == direction
    assert read_grid(tmp_path / "four_d.nii.gz").channels == 2


def test_label_wrappers_and_concat(tmp_path: Path) -> None:
    from medseg.data import BinarizedDataset, ConcatCaseDataset, RemappedDataset

    ds = MSDDataset(_make_msd(tmp_path / "a", n=2))
    raw = _label(1)
    binary = BinarizedDataset(ds, classes=[2])
    np.testing.assert_array_equal(binary[1].label.array[0], (raw == 2).astype(np.uint8))  # type: ignore[union-attr]
    assert binary.labels == {0: "background", 1: "b"}
    both = BinarizedDataset(ds, classes=[1, 2])
    np.testing.assert_array_equal(both[1].label.array[0], (raw > 0).astype(np.uint8))  # type: ignore[union-attr]
    swapped = RemappedDataset(ds, {1: 2, 2: 1})  # simultaneous, not chained
    np.testing.assert_array_equal(swapped[1].label.array[0], np.choose(raw, [0, 2, 1]))  # type: ignore[union-attr]
    assert swapped.labels == {0: "background", 2: "a", 1: "b"}
    np.testing.assert_array_equal(swapped[1].image.array, ds[1].image.array)
    swapped.check(progress=False)

    other = NNUNetDataset(_make_nnunet(tmp_path / "b", cases=("x_1",), n_channels=1))
    joined = ConcatCaseDataset([ds, other])
    assert joined.case_ids == ["t_000", "t_001", "x_1"] and len(joined) == 3
    np.testing.assert_array_equal(joined.case("x_1").image.array, other[0].image.array)
    assert joined.labels == ds.labels
    joined.check(progress=False)
    train, val = joined.fold(0, n_folds=3)
    assert sorted(train.case_ids + val.case_ids) == sorted(joined.case_ids) and len(val) == 1
