"""preprocess(): the cache on disk, inversion, idempotence, interruption, plan mixing, workers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from medseg.config.plan import NormalizationSpec, Plan, ResamplingSpec
from medseg.core.errors import ConfigError, DatasetError
from medseg.data.case import Case
from medseg.data.preprocessing import PreprocessedDataset, invert_preprocessing, preprocess, preprocess_case
from medseg.io import Geometry, Image
from medseg.io.readers import read_image


class ListDataset:
    """A minimal dataset: a list of cases with their ids."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases
        self.case_ids = [c.case_id for c in cases]

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> Case:
        return self.cases[index]


def make_case(case_id: str, seed: int, spacing: tuple[float, float, float] = (1.0, 1.0, 2.0)) -> Case:
    """A 3D case with a zero border (to crop), anisotropic spacing (x, y, z) and labels 0/1/2."""
    rng = np.random.default_rng(seed)
    image = np.zeros((1, 6, 10, 9), dtype=np.float32)
    image[0, 1:5, 2:9, 1:8] = rng.normal(100, 20, (4, 7, 7))
    label = np.zeros((1, 6, 10, 9), dtype=np.uint8)
    label[0, 2:4, 3:7, 2:6] = 1
    label[0, 3, 6:8, 5:7] = 2
    geometry = Geometry(spacing, (10.0, -5.0, 3.0), (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    return Case(case_id, Image(image, geometry), Image(label, geometry))


def make_plan(**changes: object) -> Plan:
    settings: dict[str, object] = dict(
        spatial_dims=3,
        channel_names=["MR"],
        labels={"background": 0, "a": 1, "b": 2},
        target_spacing=[1.0, 1.0, 1.0],
        orientation="RAS",
        crop_to_nonzero=True,
        normalization=[NormalizationSpec(scheme="zscore_nonzero")],
        resampling=ResamplingSpec(label_mode="nearest"),
        patch_size=[4, 4, 4],
        batch_size=2,
    )
    settings.update(changes)
    return Plan.model_validate(settings)


def test_preprocess_case_records_every_step_and_inverts_labels_exactly() -> None:
    case = make_case("c0", 0)
    result = preprocess_case(case, make_plan())
    props = result.properties
    # LPS -> RAS flips y (10 voxels) and x (9 voxels): y 2:9 becomes 1:8, x 1:8 becomes 1:8.
    assert props["crop_box"] == [[1, 5], [1, 8], [1, 8]]
    assert props["shape_after_crop"] == [4, 7, 7]
    assert props["spacing_before_resampling"] == [2.0, 1.0, 1.0]
    assert props["shape_after_resampling"] == [8, 7, 7] == list(result.image.shape[1:])
    assert props["orientation"] == "RAS" and props["original_orientation"] == "LPS"
    assert result.label is not None and result.label.dtype == np.int16
    back = invert_preprocessing(result.label, props)
    np.testing.assert_array_equal(back, case.label.array if case.label is not None else None)
    assert Geometry.from_dict(props["original_geometry"]).is_close(case.geometry)


def test_inverted_probabilities_are_background_outside_the_crop() -> None:
    result = preprocess_case(make_case("c0", 0), make_plan())
    assert result.label is not None
    onehot = np.stack([(result.label[0] == k) for k in range(3)]).astype(np.float32)
    back = invert_preprocessing(onehot, result.properties)
    assert back.shape == (3, 6, 10, 9)
    np.testing.assert_allclose(back.sum(axis=0), 1.0, atol=1e-5)
    assert np.all(back[0, 0] == 1.0) and np.all(back[1:, 0] == 0.0)


def test_class_locations_hold_their_class() -> None:
    result = preprocess_case(make_case("c0", 0), make_plan())
    assert result.label is not None
    for value, points in result.locations.items():
        assert len(points) == int(np.sum(result.label == value))
        assert np.all(result.label[0][tuple(points.T)] == value)
    assert sorted(result.locations) == [1, 2]


def test_bad_cases_raise_one_line_dataset_errors() -> None:
    case = make_case("bad", 0)
    assert case.label is not None
    case.label.array[0, 0, 0, 0] = 7
    with pytest.raises(DatasetError, match=r"case bad: label values \[7\]"):
        preprocess_case(case, make_plan())
    with pytest.raises(DatasetError, match="c: 1 image channels, the plan expects 2"):
        preprocess_case(
            make_case("c", 0), make_plan(channel_names=["a", "b"], normalization=[{"scheme": "none"}] * 2)
        )


def test_cache_round_trip_is_memory_mapped(tmp_path: Path) -> None:
    cases = [make_case(f"c{i}", i) for i in range(3)]
    cache = preprocess(ListDataset(cases), make_plan(), tmp_path, workers=1, progress=False)
    assert cache.case_ids == ["c0", "c1", "c2"] and cache.plan == make_plan()
    whole = cache[1]
    assert isinstance(whole.image, np.memmap) and whole.image.dtype == np.float32
    expected = preprocess_case(cases[1], make_plan())
    np.testing.assert_array_equal(whole.image, expected.image)
    np.testing.assert_array_equal(cache.class_locations(1, 2), expected.locations[2])
    assert (
        json.loads((tmp_path / "cases" / "c1" / "properties.json").read_text(encoding="utf-8"))
        == expected.properties
    )
    assert PreprocessedDataset(tmp_path).case_ids == ["c0", "c1", "c2"]


def test_rerun_skips_finished_cases_and_redoes_interrupted_ones(tmp_path: Path) -> None:
    data = ListDataset([make_case(f"c{i}", i) for i in range(2)])
    preprocess(data, make_plan(), tmp_path, workers=1, progress=False)
    done, interrupted = tmp_path / "cases" / "c0" / "image.npy", tmp_path / "cases" / "c1"
    os.utime(done, (1, 1))
    (interrupted / ".complete").unlink()
    (interrupted / "image.npy").write_bytes(b"truncated")
    with pytest.raises(DatasetError, match="'c1' is missing or incomplete"):
        PreprocessedDataset(tmp_path, ["c0", "c1"])
    cache = preprocess(data, make_plan(patch_size=[8, 8, 8]), tmp_path, workers=1, progress=False)
    assert done.stat().st_mtime == 1
    np.testing.assert_array_equal(cache[1].image, preprocess_case(data[1], make_plan()).image)
    assert cache.plan.patch_size == [8, 8, 8]


def test_a_different_preprocessing_plan_is_refused(tmp_path: Path) -> None:
    data = ListDataset([make_case("c0", 0)])
    preprocess(data, make_plan(), tmp_path, workers=1, progress=False)
    with pytest.raises(ConfigError, match=r"plan.json: cache made with target_spacing=\[1.0, 1.0, 1.0\]"):
        preprocess(data, make_plan(target_spacing=[2.0, 2.0, 2.0]), tmp_path, workers=1, progress=False)


def test_two_workers_write_the_same_cache_as_one(tmp_path: Path) -> None:
    data = ListDataset([make_case(f"c{i}", i) for i in range(3)])
    serial = preprocess(data, make_plan(), tmp_path / "serial", workers=1, progress=False)
    parallel = preprocess(data, make_plan(), tmp_path / "parallel", workers=2, progress=False)
    assert parallel.case_ids == serial.case_ids
    for i in range(3):
        np.testing.assert_array_equal(parallel[i].image, serial[i].image)
        np.testing.assert_array_equal(parallel[i].label, serial[i].label)


def test_real_hippocampus_case_round_trips_through_the_cache(tmp_path: Path, shared_data: Path) -> None:
    root = shared_data / "Task04_Hippocampus"
    image = read_image(root / "imagesTr" / "hippocampus_007.nii.gz")
    label = read_image(root / "labelsTr" / "hippocampus_007.nii.gz")
    case = Case("hippocampus_007", image, label)
    plan = make_plan(target_spacing=[0.5, 0.5, 0.5], orientation="LPS")
    cache = preprocess(ListDataset([case]), plan, tmp_path, workers=1, progress=False)
    stored = cache[0]
    assert stored.label is not None
    assert list(stored.image.shape[1:]) == [2 * s for s in stored.properties["shape_after_crop"]]
    np.testing.assert_array_equal(
        invert_preprocessing(np.asarray(stored.label), stored.properties), label.array
    )


def test_open_npy_reads_what_numpy_wrote(tmp_path: Path) -> None:
    from medseg.data.preprocessing.store import open_npy

    rng = np.random.default_rng(0)
    for name, array in {
        "c.npy": rng.random((2, 3, 4)).astype(np.float32),
        "f.npy": np.asfortranarray(rng.integers(0, 9, (3, 5)).astype(np.int16)),
    }.items():
        np.save(tmp_path / name, array)
        opened = open_npy(tmp_path / name)
        assert isinstance(opened, np.memmap) and opened.dtype == array.dtype
        np.testing.assert_array_equal(opened, np.load(tmp_path / name))


def test_2d_rgb_case_with_linear_per_label_downsampling(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    geometry = Geometry.identity(2, (0.5, 0.5))
    image = rng.integers(0, 255, (3, 16, 12)).astype(np.uint8)
    label = np.zeros((1, 16, 12), dtype=np.uint8)
    label[0, 4:12, 2:10] = 1
    plan = make_plan(
        spatial_dims=2,
        channel_names=["r", "g", "b"],
        labels={"background": 0, "vessel": 1},
        target_spacing=[1.0, 1.0],
        normalization=[{"scheme": "minmax"}] * 3,
        resampling=ResamplingSpec(label_mode="linear_per_label"),
        patch_size=[4, 4],
    )
    cache = preprocess(
        ListDataset([Case("d0", Image(image, geometry), Image(label, geometry))]), plan, tmp_path, 1, False
    )
    stored = cache[0]
    assert stored.image.shape == (3, 8, 6) and stored.properties["orientation"] is None
    assert stored.image.dtype == np.float32
    assert stored.label is not None
    expected = np.zeros((8, 6), dtype=np.int16)
    expected[2:6, 1:5] = 1  # the 8x8 square at 0.5 mm is a 4x4 square at 1 mm
    np.testing.assert_array_equal(stored.label[0], expected)


def test_a_case_id_that_is_not_a_folder_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"case id '../x' cannot name a cache folder"):
        preprocess(ListDataset([make_case("../x", 0)]), make_plan(), tmp_path, workers=1, progress=False)
