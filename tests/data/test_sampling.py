"""RandomROIDataset: shapes, padding, determinism and the statistics of foreground oversampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from medseg.config.plan import NormalizationSpec, Plan, ResamplingSpec
from medseg.core.errors import ConfigError
from medseg.data.case import Case
from medseg.data.preprocessing import PreprocessedDataset, preprocess
from medseg.data.sampling import RandomROIDataset
from medseg.io import Geometry, Image

CHI2_1DOF_P001 = 10.83  # chi-square quantile, 1 degree of freedom, p = 0.001


class ListDataset:
    """A minimal dataset: a list of cases with their ids."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases
        self.case_ids = [c.case_id for c in cases]

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> Case:
        return self.cases[index]


def cache_of(tmp_path: Path, labels: list[np.ndarray]) -> PreprocessedDataset:
    """Cache the label maps unchanged (1 mm, no crop/reorient/normalisation); image = 1 + index."""
    cases = []
    for i, label in enumerate(labels):
        geometry = Geometry.identity(3)
        image = (np.arange(label.size, dtype=np.float32).reshape(label.shape) + 1)[None]
        cases.append(Case(f"c{i}", Image(image, geometry), Image(label[None].astype(np.uint8), geometry)))
    plan = Plan(
        spatial_dims=3,
        channel_names=["x"],
        labels={"bg": 0, "one": 1, "two": 2},
        target_spacing=[1.0, 1.0, 1.0],
        normalization=[NormalizationSpec(scheme="none")],
        resampling=ResamplingSpec(label_mode="nearest"),
        patch_size=[6, 6, 6],
        batch_size=2,
    )
    return preprocess(ListDataset(cases), plan, tmp_path, workers=1, progress=False)


def two_blobs() -> np.ndarray:
    label = np.zeros((20, 20, 20), dtype=np.uint8)
    label[2:4, 2:4, 2:4] = 1
    label[15:17, 15:17, 15:17] = 2
    return label


def test_patch_shapes_dtypes_and_2d_slices(tmp_path: Path) -> None:
    cache = cache_of(tmp_path, [two_blobs()])
    sample = RandomROIDataset(cache, [6, 5, 4], 3)[0]
    assert sample["image"].shape == (1, 6, 5, 4) and sample["image"].dtype == torch.float32
    assert sample["label"].shape == (1, 6, 5, 4) and sample["label"].dtype == torch.int16
    flat = RandomROIDataset(cache, [7, 3], 3)[1]
    assert flat["image"].shape == (1, 7, 3) and flat["label"].shape == (1, 7, 3)
    draw = RandomROIDataset(cache, [7, 3], 3).draw(1)
    expected = np.asarray(cache.image(0))[
        0, draw.start[0], draw.start[1] : draw.start[1] + 7, draw.start[2] : draw.start[2] + 3
    ]
    np.testing.assert_array_equal(flat["image"][0].numpy(), expected)


def test_a_case_smaller_than_the_patch_is_padded_with_zeros(tmp_path: Path) -> None:
    small = np.zeros((3, 4, 5), dtype=np.uint8)
    small[1, 1:3, 2] = 2
    cache = cache_of(tmp_path, [small])
    for oversampling in (0.0, 1.0):
        sample = RandomROIDataset(cache, [6, 6, 6], 4, foreground_oversampling=oversampling)[2]
        image, label = sample["image"].numpy(), sample["label"].numpy()
        assert image.shape == (1, 6, 6, 6)
        assert np.count_nonzero(image) == small.size and image.sum() == np.asarray(cache.image(0)).sum()
        assert sorted(label[label > 0].tolist()) == [2, 2]


def test_samples_depend_only_on_seed_epoch_and_index(tmp_path: Path) -> None:
    cache = cache_of(tmp_path, [two_blobs(), two_blobs()[::-1].copy()])
    first, second = (
        RandomROIDataset(cache, [6, 6, 6], 10, seed=3),
        RandomROIDataset(cache, [6, 6, 6], 10, seed=3),
    )
    second.set_epoch(1)
    assert torch.equal(first[(1, 4)]["image"], second[4]["image"])
    assert first.draw((1, 4)) == second.draw(4)
    other_seed = RandomROIDataset(cache, [6, 6, 6], 10, seed=4)
    draws = [first.draw((0, i)) for i in range(10)]
    assert draws != [other_seed.draw((0, i)) for i in range(10)]
    assert draws != [first.draw((1, i)) for i in range(10)]


def test_full_oversampling_puts_the_forced_class_in_every_patch(tmp_path: Path) -> None:
    cache = cache_of(tmp_path, [two_blobs()])
    data = RandomROIDataset(cache, [6, 6, 6], 200, foreground_oversampling=1.0)
    for i in range(200):
        forced = data.draw(i).forced_class
        assert forced in (1, 2)
        assert (data[i]["label"] == forced).any()


def foreground_fraction(data: RandomROIDataset, n: int) -> float:
    return sum(bool((data[i]["label"] > 0).any()) for i in range(n)) / n


def test_one_third_oversampling_adds_one_third_of_the_non_foreground_patches(tmp_path: Path) -> None:
    cache = cache_of(tmp_path, [two_blobs()])
    # Hand computation: starts 0..14 per axis; blob 1 is hit by starts 0..3, blob 2 by starts 10..14.
    uniform = (4**3 + 5**3) / 15**3
    n = 900
    for p in (0.0, 0.33):
        expected = p + (1 - p) * uniform
        bound = 4 * np.sqrt(expected * (1 - expected) / n)
        observed = foreground_fraction(RandomROIDataset(cache, [6, 6, 6], n, foreground_oversampling=p), n)
        assert abs(observed - expected) < bound, (p, observed, expected)


def chi_square(observed: list[int], probabilities: list[float]) -> float:
    total = sum(observed)
    return sum((o - total * q) ** 2 / (total * q) for o, q in zip(observed, probabilities, strict=True))


def test_label_probabilities_choose_the_forced_class(tmp_path: Path) -> None:
    cache = cache_of(tmp_path, [two_blobs()])
    data = RandomROIDataset(
        cache, [6, 6, 6], 800, foreground_oversampling=1.0, label_probabilities={1: 3.0, 2: 1.0}
    )
    forced = [data.draw(i).forced_class for i in range(800)]
    assert chi_square([forced.count(1), forced.count(2)], [0.75, 0.25]) < CHI2_1DOF_P001
    only_two = RandomROIDataset(
        cache, [6, 6, 6], 50, foreground_oversampling=1.0, label_probabilities={2: 1.0}
    )
    assert {only_two.draw(i).forced_class for i in range(50)} == {2}


def test_rare_class_oversampling_weights_classes_by_inverse_frequency(tmp_path: Path) -> None:
    label = two_blobs()
    label[5:10, 5:10, 5:10] = 1  # class 1: 8 + 125 voxels, class 2: 8 voxels
    cache = cache_of(tmp_path, [label])
    data = RandomROIDataset(cache, [6, 6, 6], 600, foreground_oversampling=1.0, rare_class_oversampling=True)
    forced = [data.draw(i).forced_class for i in range(600)]
    p_two = (1 / 8) / (1 / 8 + 1 / 133)
    assert chi_square([forced.count(1), forced.count(2)], [1 - p_two, p_two]) < CHI2_1DOF_P001


def test_bad_settings_raise_config_errors(tmp_path: Path) -> None:
    cache = cache_of(tmp_path, [two_blobs()])
    with pytest.raises(ConfigError, match="patch_size"):
        RandomROIDataset(cache, [6], 5)
    with pytest.raises(ConfigError, match="label_probabilities"):
        RandomROIDataset(cache, [6, 6, 6], 5, label_probabilities={0: 1.0})
    with pytest.raises(ConfigError, match="foreground_oversampling"):
        RandomROIDataset(cache, [6, 6, 6], 5, foreground_oversampling=1.5)
