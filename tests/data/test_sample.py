"""The embedded 40-case hippocampus sample: found via importlib.resources, unmodified, small."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medseg.core.errors import DatasetError
from medseg.data import MSDDataset, load_sample
from medseg.data.sample import copy_sample, sample_path


def test_sample_is_the_first_40_cases_unmodified(shared_data: Path) -> None:
    ds = load_sample()
    assert isinstance(ds, MSDDataset) and len(ds) == 40
    full = json.loads((shared_data / "Task04_Hippocampus" / "dataset.json").read_text(encoding="utf-8"))
    first = sorted(Path(e["image"]).name for e in full["training"])[:40]
    assert [f"{cid}.nii.gz" for cid in ds.case_ids] == first
    assert ds.channel_names == ["MRI"] and ds.labels == {0: "background", 1: "Anterior", 2: "Posterior"}
    root = sample_path()
    for cid in ds.case_ids:
        for folder in ("imagesTr", "labelsTr"):
            copy = (root / folder / f"{cid}.nii.gz").read_bytes()
            assert copy == (shared_data / "Task04_Hippocampus" / folder / f"{cid}.nii.gz").read_bytes()


def test_sample_size_and_attribution() -> None:
    root = sample_path()
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024
    attribution = (root / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("CC BY-SA 4.0", "Simpson", "Medical Segmentation Decathlon", "Vanderbilt", "unmodified"):
        assert needle in attribution


def test_sample_cases_load_and_validate() -> None:
    ds = load_sample()
    ds.check(progress=False)
    case = ds[0]
    ref = sitk.ReadImage(str(sample_path() / "labelsTr" / f"{case.case_id}.nii.gz"))
    assert case.label is not None and case.label.array.shape == case.image.array.shape
    np.testing.assert_array_equal(case.label.array[0], sitk.GetArrayFromImage(ref))
    assert set(np.unique(case.label.array)) == {0, 1, 2}
    train, val = ds.fold(0)
    assert len(train) == 32 and len(val) == 8


def test_copy_sample_writes_a_loadable_task_of_the_first_cases(tmp_path: Path) -> None:
    copy = MSDDataset(copy_sample(tmp_path / "three", 3))
    assert copy.case_ids == load_sample().case_ids[:3]
    assert (tmp_path / "three" / "imagesTr" / f"{copy.case_ids[2]}.nii.gz").read_bytes() == (
        sample_path() / "imagesTr" / f"{copy.case_ids[2]}.nii.gz"
    ).read_bytes()
    with pytest.raises(DatasetError, match="count 41: the sample has 40 cases"):
        copy_sample(tmp_path / "too_many", 41)
    assert not (tmp_path / "too_many").exists()
