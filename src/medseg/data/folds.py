"""Cross-validation folds over case ids: deterministic k-fold, hold-out splits and a folds file.

A fold assignment is a plain ``dict`` ``case_id -> fold index``. It is computed from the sorted case
ids shuffled with ``numpy.random.default_rng(seed)``, so it depends only on the set of ids and the
seed, never on the order files were listed in. It can be written to a JSON file that users edit by
hand (e.g. to keep the scans of one patient or one site in the same fold) and read back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from medseg.core.atomic import write_text_atomic
from medseg.core.errors import DatasetError


def kfold_assignments(case_ids: Iterable[str], n_folds: int = 5, seed: int = 0) -> dict[str, int]:
    """Assign every case to exactly one of ``n_folds`` validation folds (sizes differ by at most 1).

    The ids are sorted, shuffled with ``numpy.random.default_rng(seed)`` and dealt round-robin,
    so the result depends only on the set of ids and the seed. Needs ``2 <= n_folds <= len(ids)``.
    """
    ids = _unique_sorted(case_ids)
    if n_folds < 2:
        raise DatasetError(f"n_folds must be at least 2, got {n_folds}")
    if len(ids) < n_folds:
        raise DatasetError(f"cannot make {n_folds} folds from {len(ids)} cases (need at least one per fold)")
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[int(j)]: pos % n_folds for pos, j in enumerate(order)}


def fold_ids(assignments: Mapping[str, int], k: int) -> tuple[list[str], list[str]]:
    """The sorted ``(train_ids, val_ids)`` of fold ``k`` of an assignment."""
    n_folds = num_folds(assignments)
    if not 0 <= k < n_folds:
        raise DatasetError(f"fold {k} does not exist (folds are 0..{n_folds - 1})")
    train = sorted(cid for cid, f in assignments.items() if f != k)
    val = sorted(cid for cid, f in assignments.items() if f == k)
    return train, val


def num_folds(assignments: Mapping[str, int]) -> int:
    """The number of folds of an assignment (its largest fold index + 1)."""
    return max(assignments.values()) + 1 if assignments else 0


def holdout_ids(
    case_ids: Iterable[str], val_percent: float = 0.2, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Split ids into sorted ``(train_ids, val_ids)`` with ``round(n * val_percent)`` validation cases.

    At least one case lands on each side when ``0 < val_percent < 1`` and there are two or more cases;
    ``val_percent == 0`` gives an empty validation set.
    """
    ids = _unique_sorted(case_ids)
    if not 0.0 <= val_percent < 1.0:
        raise DatasetError(f"val_percent must be in [0, 1), got {val_percent}")
    n_val = round(len(ids) * val_percent)
    if val_percent > 0:
        if len(ids) < 2:
            raise DatasetError(f"cannot carve a validation set out of {len(ids)} case(s)")
        n_val = min(max(n_val, 1), len(ids) - 1)
    order = np.random.default_rng(seed).permutation(len(ids))
    val = {ids[int(j)] for j in order[:n_val]}
    return sorted(set(ids) - val), sorted(val)


def write_folds(path: str | os.PathLike[str], assignments: Mapping[str, int]) -> Path:
    """Write ``case_id -> fold`` as an editable, sorted JSON object; the file appears atomically."""
    p = Path(path)
    _validate_folds(p, {str(k): v for k, v in assignments.items()})
    return write_text_atomic(
        p, json.dumps({k: int(assignments[k]) for k in sorted(assignments)}, indent=2) + "\n"
    )


def read_folds(path: str | os.PathLike[str], case_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Read a folds file written by :func:`write_folds` (or by hand).

    With ``case_ids``, the file must name exactly those cases: unknown or missing ids raise
    :class:`DatasetError` naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: folds file does not exist")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{p}: not a UTF-8 text file (a folds file is JSON)") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{p}: expected a JSON object mapping case id -> fold, got {type(data).__name__}")
    for cid, fold in data.items():
        if isinstance(fold, bool) or not isinstance(fold, int):
            raise DatasetError(f"{p}: fold of case '{cid}' must be an integer, got {fold!r}")
    folds: dict[str, int] = dict(data)
    if case_ids is not None:  # the cases first: a file of another dataset is the likelier mistake
        check_folds_cover(p, folds, case_ids)
    _validate_folds(p, folds)
    return folds


def check_folds_cover(
    source: str | os.PathLike[str], folds: Mapping[str, int], case_ids: Sequence[str]
) -> None:
    """Raise :class:`DatasetError` unless ``folds`` names exactly the cases ``case_ids``."""
    unknown = sorted(set(folds) - set(case_ids))
    missing = sorted(set(case_ids) - set(folds))
    if unknown:
        raise DatasetError(
            f"{source}: {len(unknown)} unknown case id(s) not in the dataset: {_preview(unknown)}"
        )
    if missing:
        raise DatasetError(
            f"{source}: {len(missing)} case(s) of the dataset have no fold: {_preview(missing)}"
        )


def _validate_folds(source: Path, folds: Mapping[str, int]) -> None:
    if not folds:
        raise DatasetError(f"{source}: no cases in the fold assignment")
    used = set(folds.values())
    if min(used) < 0:
        raise DatasetError(f"{source}: fold indices must be >= 0, got {min(used)}")
    empty = sorted(set(range(max(used) + 1)) - used)
    if empty:
        raise DatasetError(
            f"{source}: folds must be numbered 0..{max(used)} without gaps; fold(s) {empty} are empty"
        )
    if len(used) < 2:
        raise DatasetError(f"{source}: at least 2 folds are needed, got only fold {min(used)}")


def _unique_sorted(case_ids: Iterable[str]) -> list[str]:
    ids = list(case_ids)
    unique = sorted(set(ids))
    if len(unique) != len(ids):
        dupes = sorted({c for c in ids if ids.count(c) > 1})
        raise DatasetError(f"case ids must be unique, duplicated: {_preview(dupes)}")
    return unique


def _preview(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
