"""EvalResult: metric values per case x region, with summaries and CSV/JSON export."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medseg.core.atomic import atomic_open, write_text_atomic


@dataclass
class EvalResult:
    """A long table with one row per (case, region, metric) and a ``value`` column.

    ``table`` columns: ``case_id``, ``region``, ``metric``, ``value``. Infinite values (e.g. HD95 when
    one mask is empty) are kept as ``inf`` and excluded from means with a count of how many were.
    """

    table: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["case_id", "region", "metric", "value"])
    )

    @property
    def case_ids(self) -> list[str]:
        """Cases in the order they were evaluated."""
        return list(dict.fromkeys(self.table["case_id"]))

    def wide(self) -> pd.DataFrame:
        """One row per case, one column per ``region/metric``."""
        wide = self.table.pivot_table(
            index="case_id", columns=["region", "metric"], values="value", sort=False
        )
        wide.columns = [f"{col[0]}/{col[1]}" for col in wide.columns]
        return wide.loc[self.case_ids]

    def summary(self) -> pd.DataFrame:
        """mean, std, median, min, max and the number of non-finite values per region and metric."""

        def finite(v: pd.Series) -> pd.Series:
            return v[np.isfinite(v.astype(float))]

        grouped = self.table.groupby(["region", "metric"], sort=False)["value"]
        return pd.DataFrame(
            {
                "mean": grouped.apply(lambda v: finite(v).mean()),
                "std": grouped.apply(lambda v: finite(v).std(ddof=0)),
                "median": grouped.apply(lambda v: finite(v).median()),
                "min": grouped.apply(lambda v: finite(v).min()),
                "max": grouped.apply(lambda v: finite(v).max()),
                "n": grouped.size(),
                "non_finite": grouped.apply(lambda v: int((~np.isfinite(v.astype(float))).sum())),
            }
        )

    @property
    def mean_metrics(self) -> dict[str, float]:
        """``{"region/metric": mean}`` over cases (finite values only)."""
        s = self.summary()["mean"]
        return {f"{key[0]}/{key[1]}": float(v) for key, v in s.items()}  # type: ignore[index]

    def worst(
        self, metric: str, n: int = 5, region: str | None = None, higher_is_better: bool = True
    ) -> pd.DataFrame:
        """The ``n`` worst cases by ``metric`` (averaged over regions unless one is given)."""
        rows = self.table[self.table["metric"] == metric]
        if region is not None:
            rows = rows[rows["region"] == region]
        if rows.empty:
            raise KeyError(
                f"metric '{metric}' not in this result (have: {sorted(set(self.table['metric']))})"
            )
        per_case = rows.groupby("case_id", sort=False)["value"].mean()
        return per_case.sort_values(ascending=higher_is_better).head(n).to_frame(metric)

    def to_csv(self, path: str | os.PathLike[str], wide: bool = True) -> Path:
        """Write the per-case table (wide by default) atomically."""
        with atomic_open(path, "w", newline="") as handle:
            (self.wide() if wide else self.table).to_csv(handle, index=wide)
        return Path(path)

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write per-case values and the summary as JSON (inf written as the string "inf")."""

        def clean(v: Any) -> Any:
            return v if not isinstance(v, float) or math.isfinite(v) else str(v)

        cases: dict[str, dict[str, Any]] = {}
        for row in self.table.itertuples(index=False):
            cases.setdefault(str(row.case_id), {})[f"{row.region}/{row.metric}"] = clean(float(row.value))  # type: ignore[arg-type]
        summary = {
            f"{key[0]}/{key[1]}": {k: clean(float(v)) for k, v in vals.items()}  # type: ignore[index]
            for key, vals in self.summary().iterrows()
        }
        return write_text_atomic(path, json.dumps({"cases": cases, "summary": summary}, indent=2))

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> EvalResult:
        """Build from ``{"case_id", "region", "metric", "value"}`` dictionaries."""
        return cls(pd.DataFrame(rows, columns=["case_id", "region", "metric", "value"]))
