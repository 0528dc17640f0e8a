"""K-fold assignments, hold-out splits and the editable folds file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medseg.core.errors import DatasetError
from medseg.data.folds import fold_ids, holdout_ids, kfold_assignments, num_folds, read_folds, write_folds


def _ids(n: int) -> list[str]:
    return [f"case_{i:03d}" for i in range(n)]


@pytest.mark.parametrize("n", [2, 3, 5, 7, 10, 23, 64])
@pytest.mark.parametrize("n_folds", [2, 3, 5, 10])
def test_val_folds_partition_all_cases(n: int, n_folds: int) -> None:
    if n < n_folds:
        with pytest.raises(DatasetError, match=f"{n_folds} folds from {n} cases"):
            kfold_assignments(_ids(n), n_folds)
        return
    assignments = kfold_assignments(_ids(n), n_folds, seed=3)
    vals = [set(fold_ids(assignments, k)[1]) for k in range(n_folds)]
    assert set().union(*vals) == set(_ids(n))
    assert sum(len(v) for v in vals) == n  # pairwise disjoint
    sizes = sorted(len(v) for v in vals)
    assert sizes[-1] - sizes[0] <= 1 and sizes[0] >= 1
    for k in range(n_folds):
        train, val = fold_ids(assignments, k)
        assert set(train) | set(val) == set(_ids(n)) and not set(train) & set(val)


def test_same_seed_same_folds_independent_of_order() -> None:
    ids = _ids(40)
    a = kfold_assignments(ids, 5, seed=7)
    b = kfold_assignments(list(reversed(ids)), 5, seed=7)
    assert a == b


def test_different_seed_different_folds() -> None:
    ids = _ids(40)
    assert kfold_assignments(ids, 5, seed=0) != kfold_assignments(ids, 5, seed=1)


def test_assignment_follows_numpy_permutation() -> None:
    # Independent hand computation of the rule: sorted ids, permuted by default_rng(seed), dealt round-robin.
    import numpy as np

    ids = ["b", "d", "a", "c", "e"]
    order = np.random.default_rng(11).permutation(5)
    expected = {sorted(ids)[int(j)]: pos % 2 for pos, j in enumerate(order)}
    assert kfold_assignments(ids, 2, seed=11) == expected


def test_too_few_folds_and_duplicates_rejected() -> None:
    with pytest.raises(DatasetError, match="at least 2"):
        kfold_assignments(_ids(5), 1)
    with pytest.raises(DatasetError, match="duplicated: a"):
        kfold_assignments(["a", "a", "b"], 2)
    with pytest.raises(DatasetError, match="fold 5 does not exist"):
        fold_ids(kfold_assignments(_ids(10), 5), 5)


@pytest.mark.parametrize("n", [2, 5, 10, 41])
@pytest.mark.parametrize("val_percent", [0.1, 0.2, 0.5])
def test_holdout_sizes_and_disjointness(n: int, val_percent: float) -> None:
    train, val = holdout_ids(_ids(n), val_percent, seed=0)
    assert set(train) | set(val) == set(_ids(n)) and not set(train) & set(val)
    assert len(val) == min(max(round(n * val_percent), 1), n - 1)
    assert holdout_ids(_ids(n), val_percent, seed=0) == (train, val)


def test_holdout_zero_and_invalid() -> None:
    assert holdout_ids(_ids(4), 0.0) == (_ids(4), [])
    with pytest.raises(DatasetError, match="val_percent"):
        holdout_ids(_ids(4), 1.0)
    with pytest.raises(DatasetError, match="1 case"):
        holdout_ids(_ids(1), 0.2)


def test_folds_file_round_trip_and_hand_edit(tmp_path: Path) -> None:
    ids = _ids(12)
    path = write_folds(tmp_path / "folds.json", kfold_assignments(ids, 3))
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert list(on_disk) == sorted(ids)
    assert read_folds(path, ids) == kfold_assignments(ids, 3)
    # A user moves one case to a new fold 3: four folds now.
    on_disk["case_000"] = 3
    path.write_text(json.dumps(on_disk), encoding="utf-8")
    edited = read_folds(path, ids)
    assert num_folds(edited) == 4 and fold_ids(edited, 3) == (sorted(set(ids) - {"case_000"}), ["case_000"])
    assert not list(tmp_path.glob(".tmp-*"))


def test_folds_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "folds.json"
    write_folds(path, {"a": 0, "b": 1})
    with pytest.raises(DatasetError, match=r"folds.json: 1 unknown case id\(s\) not in the dataset: b"):
        read_folds(path, ["a"])
    with pytest.raises(DatasetError, match=r"folds.json: 1 case\(s\) of the dataset have no fold: c"):
        read_folds(path, ["a", "b", "c"])
    path.write_text('{"a": 0,\n "b": }', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"folds.json: invalid JSON at line 2, column 7"):
        read_folds(path)
    path.write_text('{"a": 0, "b": "one"}', encoding="utf-8")
    with pytest.raises(DatasetError, match="fold of case 'b' must be an integer"):
        read_folds(path)
    path.write_text('{"a": 0, "b": 2}', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"fold\(s\) \[1\] are empty"):
        read_folds(path)
    with pytest.raises(DatasetError, match="does not exist"):
        read_folds(tmp_path / "nope.json")
