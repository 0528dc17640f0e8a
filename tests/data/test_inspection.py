"""inspect(): per-case statistics against numpy, summary, samples, caching, parallel == serial."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medseg.core.errors import DatasetError
from medseg.data.case import Case
from medseg.data.inspection import Fingerprint, case_stats, inspect, inspect_case
from medseg.io import Geometry, Image, read_image, write_image


def _case(case_id: str, seed: int, shape: tuple[int, int, int] = (6, 7, 8), spacing=(2.0, 1.0, 0.5)) -> Case:
    rng = np.random.default_rng(seed)
    image = rng.normal(100.0, 20.0, size=(2, *shape)).astype(np.float32)
    image[:, :1] = 0.0  # a zero slab along axis 0: the nonzero box starts at 1
    label = np.zeros((1, *shape), dtype=np.uint8)
    label[0, 2:4, 1:5, 2:6] = 1
    label[0, 3:5, 4:6, 5:7] = 2
    label[0, 2, 1, 2] = 0
    geometry = Geometry.from_array_spacing(spacing)
    return Case(case_id, Image(image, geometry), Image(label, geometry))


class ListDataset:
    """A minimal in-memory dataset: len() and [i] -> Case."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases
        self.case_ids = [c.case_id for c in cases]
        self.channel_names = ["T1", "T2"]
        self.labels = {0: "background", 1: "a", 2: "b"}

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> Case:
        return self.cases[index]


class FileListDataset:
    """Cases read from files with read_image (so images carry meta['source'])."""

    def __init__(self, pairs: list[tuple[Path, Path]]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Case:
        image_path, label_path = self.pairs[index]
        return Case(image_path.stem, read_image(image_path), read_image(label_path))


def test_case_statistics_match_numpy() -> None:
    case = _case("c0", 0)
    fp, samples = inspect_case(case, max_locations=5, max_intensities=10_000)
    image, label = case.image.array, case.label.array[0]  # type: ignore[union-attr]
    fg = label > 0
    for c in range(2):
        values = image[c][fg].astype(np.float64)
        stats = fp.channels[c]
        assert stats.mean == pytest.approx(values.mean(), rel=1e-12)
        assert stats.std == pytest.approx(values.std(), rel=1e-12)
        assert (stats.min, stats.max) == (values.min(), values.max())
        assert stats.p00_5 == pytest.approx(np.percentile(values, 0.5))
        assert stats.p99_5 == pytest.approx(np.percentile(values, 99.5))
    assert fp.intensity_region == "foreground"
    assert fp.class_voxels == {v: int((label == v).sum()) for v in (0, 1, 2)}
    assert fp.shape == [6, 7, 8] and fp.spacing == [2.0, 1.0, 0.5]
    for value, box in fp.class_boxes.items():
        where = np.argwhere(label == value)
        assert box.start == where.min(axis=0).tolist() and box.stop == (where.max(axis=0) + 1).tolist()
    assert fp.foreground_box is not None
    assert fp.foreground_box.start == [2, 1, 2] and fp.foreground_box.stop == [5, 6, 7]
    assert fp.nonzero_box.start == [1, 0, 0] and fp.nonzero_box.stop == [6, 7, 8]
    assert fp.nonzero_removed_fraction == pytest.approx(1 / 6)
    assert fp.orientation == "LPS"
    for value in (1, 2):
        locations = samples[f"c0/locations/{value}"]
        assert locations.shape == (5, 3) and len({tuple(p) for p in locations}) == 5
        assert np.all(label[tuple(locations.T)] == value)
    # all foreground voxels fit in the intensity sample, so it is exactly the foreground values
    sample = samples["c0/intensities"]
    assert sample.shape == (2, int(fg.sum()))
    np.testing.assert_array_equal(np.sort(sample[1]), np.sort(image[1][fg]))


def test_unlabelled_case_uses_whole_image_and_orientation_code() -> None:
    direction = (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
    geometry = Geometry((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), direction)
    array = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    fp, _ = inspect_case(Case("u", Image(array, geometry)))
    assert fp.orientation == "RAS"
    assert fp.intensity_region == "image" and fp.class_voxels == {} and fp.foreground_box is None
    assert fp.channels[0].mean == pytest.approx(11.5)
    assert fp.nonzero_removed_fraction == 0.0  # only voxel 0 is zero; the box still spans the image


def test_summary_against_direct_computation() -> None:
    cases = [
        _case("a", 1),
        _case("b", 2, (8, 7, 6), (3.0, 1.0, 0.5)),
        _case("c", 3, (6, 9, 8), (7.0, 1.0, 0.5)),
    ]
    fp = inspect(ListDataset(cases), workers=0, progress=False)
    s = fp.summary
    spacings = np.array([[2.0, 1.0, 0.5], [3.0, 1.0, 0.5], [7.0, 1.0, 0.5]])
    assert s.spacing.median == [3.0, 1.0, 0.5]
    assert s.spacing.p10 == pytest.approx(np.percentile(spacings, 10, axis=0).tolist())
    assert s.resampled_shape.max == [14.0, 9.0, 8.0]  # 6 * 7 / 3
    labels = [c.label.array for c in cases]  # type: ignore[union-attr]
    total = sum(lab.size for lab in labels)
    assert s.class_frequencies[1] == pytest.approx(sum(int((lab == 1).sum()) for lab in labels) / total)
    pooled = np.concatenate([c.image.array[1][c.label.array[0] > 0] for c in cases]).astype(np.float64)  # type: ignore[union-attr]
    assert s.foreground_intensity[1] is not None
    assert s.foreground_intensity[1].mean == pytest.approx(pooled.mean(), rel=1e-6)
    assert s.foreground_intensity[1].p99_5 == pytest.approx(np.percentile(pooled, 99.5), rel=1e-6)
    assert s.foreground_roi_mm == [9.0, 5.0, 2.5]  # extents (3, 5, 5) voxels x median case spacing
    assert fp.channel_names == ["T1", "T2"] and fp.labels == {0: "background", 1: "a", 2: "b"}


def test_parallel_equals_serial_and_save_load_round_trip(tmp_path: Path) -> None:
    dataset = ListDataset([_case(f"c{i}", i) for i in range(4)])
    serial = inspect(dataset, workers=0, progress=False)
    parallel = inspect(dataset, workers=2, progress=False)
    assert serial == parallel
    assert serial.samples.keys() == parallel.samples.keys()
    for key, value in serial.samples.items():
        np.testing.assert_array_equal(value, parallel.samples[key])
    serial.save(tmp_path / "fp.json")
    assert (tmp_path / "fp.safetensors").is_file()
    loaded = Fingerprint.load(tmp_path / "fp.json")
    assert loaded == serial
    np.testing.assert_array_equal(loaded.locations("c2", 2), serial.locations("c2", 2))


def test_cache_hit_and_invalidation_when_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = []
    for i in range(2):
        case = _case(f"f{i}", i)
        pairs.append(
            (
                write_image(case.image, tmp_path / f"f{i}.nii.gz"),
                write_image(case.label, tmp_path / f"f{i}_seg.nii.gz"),
            )  # type: ignore[arg-type]
        )
    calls: list[str] = []
    real = case_stats.inspect_case

    def counting(case: Case, *args: int) -> object:
        calls.append(case.case_id)
        return real(case, *args)

    monkeypatch.setattr(case_stats, "inspect_case", counting)
    cache = tmp_path / "cache"
    first = inspect(FileListDataset(pairs), workers=0, cache_dir=cache, progress=False)
    assert len(calls) == 2
    second = inspect(FileListDataset(pairs), workers=0, cache_dir=cache, progress=False)
    assert len(calls) == 2 and second == first
    changed = read_image(pairs[1][0])
    write_image(changed.with_array(changed.array * 2), pairs[1][0])
    third = inspect(FileListDataset(pairs), workers=0, cache_dir=cache, progress=False)
    assert len(calls) == 4
    assert third.cases[1].channels[0].mean == pytest.approx(2 * first.cases[1].channels[0].mean, rel=1e-5)


def test_empty_dataset_is_an_error() -> None:
    with pytest.raises(DatasetError, match="cannot inspect an empty dataset"):
        inspect(ListDataset([]), workers=0, progress=False)


def test_real_hippocampus_subset_through_msd_dataset(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import SimpleITK as sitk

    from medseg.data.datasets import MSDDataset
    from medseg.data.planning import plan

    full = MSDDataset(shared_data / "Task04_Hippocampus")
    dataset = full.subset(full.case_ids[:12])
    fp = inspect(dataset, workers=2, cache_dir=tmp_path, progress=False)
    assert fp.channel_names == ["MRI"] and fp.labels == {0: "background", 1: "Anterior", 2: "Posterior"}
    label_file = shared_data / "Task04_Hippocampus" / "labelsTr" / f"{fp.cases[3].case_id}.nii.gz"
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(label_file)))
    assert fp.cases[3].class_voxels == {v: int((reference == v).sum()) for v in (0, 1, 2)}
    assert list(fp.cases[3].shape) == list(reference.shape)
    calls: list[str] = []
    monkeypatch.setattr(case_stats, "inspect_case", lambda case, *a: calls.append(case.case_id))
    assert inspect(dataset, workers=0, cache_dir=tmp_path, progress=False) == fp  # keyed by file bytes
    assert calls == []
    p = plan(fp)
    assert p.labels == {"background": 0, "Anterior": 1, "Posterior": 2}
    assert p.target_spacing == [1.0, 1.0, 1.0] and p.normalization[0].scheme == "zscore"
    assert all(s >= m for s, m in zip(p.patch_size, fp.summary.resampled_shape.median))


def test_label_on_another_grid_is_a_dataset_error() -> None:
    case = _case("bad", 0)
    geometry = case.image.geometry
    case.label = Image(np.zeros((1, 6, 7, 9), dtype=np.uint8), geometry)
    with pytest.raises(
        DatasetError, match=r"^case bad: label shape \(6, 7, 9\) differs from image shape \(6, 7, 8\)$"
    ):
        inspect_case(case)
