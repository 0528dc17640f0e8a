"""dataset_problems(fingerprint): datasets that cannot train are errors, outlier cases are warnings."""

from __future__ import annotations

import numpy as np
import pytest

from medseg.core.errors import DatasetError
from medseg.data.case import Case
from medseg.data.inspection import inspect
from medseg.data.inspection.problems import dataset_problems
from medseg.io import Geometry, Image


def _case(
    case_id: str,
    *,
    shape: tuple[int, int, int] = (8, 10, 12),
    spacing: tuple[float, float, float] = (2.0, 1.0, 1.0),
    label: str = "blob",
) -> Case:
    rng = np.random.default_rng(len(case_id))
    geometry = Geometry.from_array_spacing(spacing)
    image = Image(rng.normal(size=(1, *shape)).astype(np.float32), geometry)
    if label == "none":
        return Case(case_id, image)
    mask = np.zeros((1, *shape), dtype=np.uint8)
    if label == "blob":
        mask[0, 2:4, 2:5, 3:6] = 1
    return Case(case_id, image, Image(mask, geometry))


class Cases(list[Case]):
    name = "toy"

    @property
    def case_ids(self) -> list[str]:
        return [c.case_id for c in self]


def _problems(cases: list[Case]) -> tuple[list[str], list[str]]:
    found = dataset_problems(inspect(Cases(cases), workers=0, progress=False), "toy")
    return found.errors, found.warnings


def test_a_sound_dataset_has_no_problem() -> None:
    assert _problems([_case(f"c{i}") for i in range(4)]) == ([], [])


def test_an_unlabelled_training_case_is_an_error_naming_it() -> None:
    errors, _ = _problems([_case("c0"), _case("c1", label="none"), _case("c2")])
    assert errors == [
        "toy: training case c1 has no label; every training case needs one (remove the case or add its label)"
    ]


def test_all_empty_labels_are_an_error() -> None:
    errors, _ = _problems([_case(f"c{i}", label="empty") for i in range(3)])
    assert errors == [
        "toy: every label is empty (no foreground voxel in any of the 3 labelled cases); there is "
        "nothing to learn"
    ]
    assert _problems([_case("c0", label="empty"), _case("c1")]) == ([], [])  # one foreground case is enough


def test_raise_errors_is_one_line() -> None:
    cases = Cases([_case("a", label="none"), _case("b", label="none"), _case("c", label="empty")])
    found = dataset_problems(inspect(cases, workers=0, progress=False), "toy")
    with pytest.raises(DatasetError) as info:
        found.raise_errors()
    assert str(info.value) == (
        "toy: training case a, b has no label; every training case needs one (remove the "
        "case or add its label) (and 1 more problem(s))"
    )


def test_a_case_with_a_1000_mm_slice_spacing_is_warned_about_by_name() -> None:
    cases = [_case(f"c{i}") for i in range(4)] + [_case("odd", spacing=(1000.0, 1.0, 1.0))]
    errors, warnings = _problems(cases)
    assert errors == []
    assert len(warnings) == 1
    assert warnings[0].startswith("case odd: spacing 1000 mm on axis z is 500x the median 2 mm; ")
    assert "of the cache (500x the median case); check its header or leave it out" in warnings[0]


def test_a_case_over_ten_times_the_median_size_is_warned_about() -> None:
    cases = [_case(f"c{i}") for i in range(4)] + [_case("huge", shape=(40, 40, 40))]
    _, warnings = _problems(cases)
    assert len(warnings) == 1 and warnings[0].startswith(
        "case huge: shape 40x40x40 has 67x the median voxel count"
    )
    _, tiny = _problems([_case(f"c{i}") for i in range(4)] + [_case("thin", spacing=(0.1, 1.0, 1.0))])
    assert len(tiny) == 1 and tiny[0].startswith(
        "case thin: spacing 0.1 mm on axis z is 1/20 the median 2 mm"
    )
