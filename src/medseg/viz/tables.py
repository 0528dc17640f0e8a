"""Reading the tables a run leaves behind, into pandas frames the report can show.

* experiment folder: ``metrics.csv`` (one row per epoch), ``validation/cases.csv`` (``case_id`` then
  ``dice_<class>`` columns);
* work folder: ``evaluation/fold_<k>.csv`` (the Evaluator's wide table: ``case_id`` then
  ``<region>/<metric>`` columns; the long ``case_id, region, metric, value`` layout and a
  ``case_id, region, <metric>...`` layout are read too) and ``evaluation/cv_summary.json``.

Per-case tables come back worst first: ascending mean Dice when there is Dice, else ascending first
metric.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_FOLD_CSV = re.compile(r"fold_(\w+)\.csv$")


def read_json(path: Path) -> Any:
    """The JSON document at ``path``."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_metrics(path: Path) -> pd.DataFrame:
    """``metrics.csv``: one row per epoch, numeric columns as floats."""
    frame = pd.read_csv(path)
    return frame.apply(pd.to_numeric, errors="coerce")


def worst_first(frame: pd.DataFrame, score_columns: list[str]) -> pd.DataFrame:
    """``frame`` with a ``mean`` column over ``score_columns`` (Dice-like), sorted ascending (worst first)."""
    out = frame.copy()
    if score_columns:
        values = out[score_columns].apply(pd.to_numeric, errors="coerce").replace([np.inf, -np.inf], np.nan)
        if "mean" in out.columns:  # the trainer's validation/cases.csv has one: recomputed in its place
            out["mean"] = values.mean(axis=1)
        else:
            out.insert(len(out.columns), "mean", values.mean(axis=1))
        out = out.sort_values("mean", kind="stable", na_position="first")
    return out.reset_index(drop=True)


def read_case_table(path: Path) -> pd.DataFrame:
    """``validation/cases.csv`` worst first, with a ``mean`` column over its ``dice_*`` columns."""
    frame = pd.read_csv(path, dtype={"case_id": str})
    if "case_id" not in frame.columns:
        raise ValueError(f"{path.name}: no case_id column (columns: {', '.join(map(str, frame.columns))})")
    return worst_first(frame, [c for c in frame.columns if str(c).startswith("dice_")])


def _long_from_fold_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"case_id": str})
    if "case_id" not in frame.columns:
        raise ValueError(f"{path.name}: no case_id column (columns: {', '.join(map(str, frame.columns))})")
    if {"region", "metric", "value"} <= set(frame.columns):
        long = frame[["case_id", "region", "metric", "value"]]
    elif "region" in frame.columns:
        metrics = [c for c in frame.columns if c not in ("case_id", "region")]
        long = frame.melt(id_vars=["case_id", "region"], value_vars=metrics, var_name="metric")
    else:
        columns = [c for c in frame.columns if c != "case_id"]
        long = frame.melt(id_vars=["case_id"], value_vars=columns, var_name="column")
        split = long["column"].astype(str).str.rsplit("/", n=1, expand=True)
        if split.shape[1] == 1:
            split[1] = split[0]
            split[0] = "all"
        long = pd.DataFrame(
            {"case_id": long["case_id"], "region": split[0], "metric": split[1], "value": long["value"]}
        )
    long = long.assign(value=pd.to_numeric(long["value"], errors="coerce"))
    return long.reset_index(drop=True)


def fold_csvs(evaluation: Path) -> dict[str, Path]:
    """``{fold: path}`` of the ``fold_<k>.csv`` files in ``evaluation`` (numeric folds in order)."""
    found = {m.group(1): p for p in evaluation.glob("fold_*.csv") if (m := _FOLD_CSV.search(p.name))}

    def order(item: tuple[str, Path]) -> tuple[bool, int, str]:
        fold = item[0]
        return not fold.isdigit(), int(fold) if fold.isdigit() else 0, fold

    return dict(sorted(found.items(), key=order))


def read_fold_tables(evaluation: Path) -> pd.DataFrame:
    """All folds as one long table: ``fold, case_id, region, metric, value``."""
    parts = [_long_from_fold_csv(path).assign(fold=fold) for fold, path in fold_csvs(evaluation).items()]
    if not parts:
        raise FileNotFoundError(f"{evaluation}: no fold_<k>.csv")
    long = pd.concat(parts, ignore_index=True)
    return long[["fold", "case_id", "region", "metric", "value"]]


def cases_across_folds(long: pd.DataFrame) -> pd.DataFrame:
    """One row per (fold, case), one ``<region>/<metric>`` column each, worst first."""
    wide = long.assign(column=long["region"].astype(str) + "/" + long["metric"].astype(str)).pivot_table(
        index=["fold", "case_id"], columns="column", values="value", sort=False, aggfunc="first"
    )
    wide = wide.reset_index()
    wide.columns.name = None
    metrics = list(dict.fromkeys(long["metric"].astype(str)))
    key = "dice" if "dice" in metrics else metrics[0]
    return worst_first(wide, [c for c in wide.columns if str(c).endswith(f"/{key}")])


def _flat_means(entry: Any) -> dict[str, float]:
    if isinstance(entry, dict) and isinstance(entry.get("mean"), dict):
        entry = entry["mean"]
    if not isinstance(entry, dict):
        return {}
    return {
        str(k): float(v) for k, v in entry.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def cv_summary_table(summary: dict[str, Any]) -> pd.DataFrame:
    """``cv_summary.json`` as rows ``fold 0 .. fold k, mean`` x one column per ``region/metric``."""
    rows: dict[str, dict[str, float]] = {}
    for fold, entry in (summary.get("folds") or {}).items():
        rows[f"fold {fold}"] = _flat_means(entry)
    if isinstance(summary.get("mean"), dict):
        rows["mean"] = _flat_means(summary["mean"])
    if not rows:
        raise ValueError("cv_summary.json has neither 'folds' nor 'mean'")
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "fold"
    return frame.reset_index()


def cv_summary_from_folds(long: pd.DataFrame) -> pd.DataFrame:
    """The summary table computed from the per-case rows (finite values only) when no JSON exists."""
    finite = long[np.isfinite(long["value"].astype(float))]
    column = finite["region"].astype(str) + "/" + finite["metric"].astype(str)
    means = finite.assign(column=column).pivot_table(
        index="fold", columns="column", values="value", aggfunc="mean", sort=False
    )
    rows = {f"fold {f}": means.loc[f].to_dict() for f in means.index}
    rows["mean"] = means.mean(axis=0).to_dict()
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "fold"
    return frame.reset_index()
