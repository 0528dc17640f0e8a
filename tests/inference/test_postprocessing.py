"""Postprocessing on synthetic label maps with known components, checked against scipy.ndimage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from medseg.core.errors import ConfigError
from medseg.inference.postprocessing import (
    connected_components,
    fill_holes,
    keep_largest_component,
    remove_small_objects,
)
from medseg.inference.postprocessing_selection import select_postprocessing
from medseg.inference.postprocessing_strategy import (
    FillHolesStep,
    KeepLargestStep,
    PostprocessingStrategy,
    RemoveSmallStep,
)


def _scipy_largest(mask: np.ndarray) -> np.ndarray:
    labeled, count = ndimage.label(mask, structure=np.ones((3,) * mask.ndim))
    if count == 0:
        return mask.copy()
    sizes = ndimage.sum_labels(mask, labeled, index=range(1, count + 1))
    return labeled == 1 + int(np.argmax(sizes))


def _two_class_map() -> np.ndarray:
    labels = np.zeros((12, 14, 16), dtype=np.uint8)
    labels[1:4, 1:4, 1:4] = 1  # 27 voxels
    labels[8:10, 8:10, 8:10] = 1  # 8 voxels
    labels[6, 12, 2] = 1  # touches nothing (face, edge or corner) of the others: 1 voxel
    labels[1:3, 10:12, 12:15] = 2  # 12 voxels
    labels[9:11, 1:3, 13] = 2  # 4 voxels
    labels[4, 4, 4] = 2  # touches the 27-voxel class-1 cube only by a corner
    return labels


def _dice(prediction: np.ndarray, reference: np.ndarray, classes: Sequence[int]) -> list[float]:
    out = []
    for c in classes:
        p, r = prediction == c, reference == c
        total = int(p.sum() + r.sum())
        out.append(float("nan") if total == 0 else 2.0 * float((p & r).sum()) / total)
    return out


@pytest.mark.parametrize(("ndim", "connectivity", "rank"), [(3, 6, 1), (3, 26, 3), (2, 4, 1), (2, 8, 2)])
def test_component_sizes_equal_scipy(ndim: int, connectivity: int, rank: int) -> None:
    mask = np.random.default_rng(3).random((9,) * ndim) > 0.6
    _, sizes = connected_components(mask, connectivity)
    labeled, count = ndimage.label(mask, structure=ndimage.generate_binary_structure(ndim, rank))
    expected = np.bincount(labeled.ravel())[1:]
    assert sorted(sizes[sizes > 0].tolist()) == sorted(expected.tolist())
    assert int((sizes > 0).sum()) == count


def test_keep_largest_per_class_equals_scipy() -> None:
    labels = _two_class_map()
    result = keep_largest_component(labels)
    for c in (1, 2):
        assert np.array_equal(result == c, _scipy_largest(labels == c))
    assert int((result == 1).sum()) == 27 and int((result == 2).sum()) == 12
    assert np.array_equal(labels, _two_class_map())  # input untouched


def test_keep_largest_of_all_foreground_together() -> None:
    labels = _two_class_map()
    result = keep_largest_component(labels, per_class=False)
    kept = _scipy_largest(labels > 0)  # the 27-voxel cube plus the corner-touching class-2 voxel
    assert np.array_equal(result > 0, kept)
    assert int((result == 1).sum()) == 27 and int((result == 2).sum()) == 1
    only_two = keep_largest_component(labels, classes=[2])
    assert np.array_equal(only_two == 1, labels == 1)


def test_keep_largest_with_face_connectivity_splits_corner_neighbours() -> None:
    labels = _two_class_map()
    result = keep_largest_component(labels, per_class=False, connectivity=6)
    assert int((result == 2).sum()) == 0 and int((result == 1).sum()) == 27


def test_remove_small_objects_uses_voxel_volume() -> None:
    labels = _two_class_map()
    spacing = (2.0, 1.0, 0.5)  # 1 mm^3 per voxel: the 8-voxel cube is 8 mm^3, the 4-voxel slab 4 mm^3
    result = remove_small_objects(labels, 5.0, spacing)
    assert int((result == 1).sum()) == 27 + 8  # the 1-voxel object is gone
    assert int((result == 2).sum()) == 12  # the 4-voxel slab and the single voxel are gone
    coarse = remove_small_objects(labels, 5.0, (2.0, 2.0, 2.0))  # 8 mm^3 per voxel: all survive
    assert np.array_equal(coarse, labels)
    together = remove_small_objects(labels, 10.0, spacing, per_class=False)
    assert int((together == 1).sum()) == 27 and int((together == 2).sum()) == 12 + 1


def test_fill_holes_equals_scipy_and_spares_other_classes() -> None:
    labels = np.zeros((9, 9, 9), dtype=np.int64)
    labels[1:8, 1:8, 1:8] = 1
    labels[3:6, 3:6, 3:6] = 0  # a 27-voxel hole
    labels[4, 4, 4] = 2  # another class inside the hole
    result = fill_holes(labels, classes=[1])
    expected = ndimage.binary_fill_holes(labels == 1) & (labels != 2)
    assert np.array_equal(result == 1, expected)
    assert result[4, 4, 4] == 2 and int((result == 1).sum()) == 7**3 - 1


def test_strategy_applies_steps_in_order_and_round_trips(tmp_path: Path) -> None:
    labels = _two_class_map()
    strategy = PostprocessingStrategy(
        steps=[RemoveSmallStep(min_size_mm3=2.0), KeepLargestStep(classes=[2]), FillHolesStep()]
    )
    manual = fill_holes(keep_largest_component(remove_small_objects(labels, 2.0), classes=[2]))
    assert np.array_equal(strategy.apply(labels), manual)
    path = tmp_path / "sub" / "postprocessing.json"
    strategy.save(path)
    assert PostprocessingStrategy.load(path) == strategy
    assert [p.name for p in path.parent.iterdir()] == ["postprocessing.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"steps": [{"kind": "dilate"}]}', "key steps.0"),
        ('{"steps": [], "connectivity": 5}', "key connectivity"),
        ('{"steps": [{"kind": "remove_small", "min_size_mm3": -1}]}', "min_size_mm3"),
    ],
)
def test_bad_strategy_file_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pp.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        PostprocessingStrategy.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        PostprocessingStrategy.load(tmp_path / "missing.json")


def test_selection_accepts_only_steps_that_help_and_hurt_no_class() -> None:
    references, predictions = [], []
    for shift in (0, 1):
        reference = np.zeros((10, 12, 12), dtype=np.uint8)
        reference[1 + shift : 5, 1:5, 1:5] = 1
        reference[6:9, 6:11, 6:11] = 2
        prediction = reference.copy()
        prediction[8, 1, 10] = 1  # a spurious class-1 speck: keeping the largest class-1 part helps
        prediction[7, 6:11, 6:11] = 0  # class 2 split into two true parts: keeping one hurts
        references.append(reference)
        predictions.append(prediction)
    selection = select_postprocessing(predictions, references, _dice, classes=[1, 2])
    assert selection.strategy.steps == [KeepLargestStep(classes=[1])]
    accepted = [step for step, ok, _ in selection.trials if ok]
    assert accepted == selection.strategy.steps and len(selection.trials) == 3
    assert selection.dice_after[1] > selection.dice_before[1]
    assert selection.dice_after[2] == selection.dice_before[2]
    fixed = [selection.strategy.apply(p) for p in predictions]
    expected_1 = np.mean([_dice(f, r, [1])[0] for f, r in zip(fixed, references, strict=True)])
    assert selection.dice_after[1] == pytest.approx(expected_1)


def test_real_hippocampus_label_with_added_specks(shared_data: Path) -> None:
    from medseg.io.readers import read_image

    image = read_image(
        shared_data / "Task04_Hippocampus" / "labelsTr" / "hippocampus_007.nii.gz", is_label=True
    )
    reference = image.array[0]
    noisy = reference.copy()
    zero = np.argwhere(ndimage.binary_dilation(reference > 0, iterations=3) == 0)
    specks = zero[:: max(1, len(zero) // 5)][:5]
    for index, (z, y, x) in enumerate(specks):
        noisy[z, y, x] = 1 + index % 2  # isolated one-voxel specks of both classes, far from the organ
    cleaned = keep_largest_component(noisy)
    for c in (1, 2):
        assert np.array_equal(cleaned == c, _scipy_largest(noisy == c))
        assert np.array_equal(cleaned == c, _scipy_largest(reference == c))
    spacing = image.geometry.array_spacing
    threshold = 2.0 * float(np.prod(spacing))  # two voxels' volume
    dusted = remove_small_objects(noisy, threshold, spacing)
    assert all(dusted[tuple(p)] == 0 for p in specks)
    assert np.array_equal(dusted, remove_small_objects(reference, threshold, spacing))
