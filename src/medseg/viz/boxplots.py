"""Per-class box plots of per-case metrics (one box per class; per fold side by side for CV)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from medseg.viz.colors import class_color, rgb01

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _finite(values: pd.Series) -> np.ndarray:
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    return array[np.isfinite(array)]


def _colour(name: str, class_values: Mapping[str, int] | None, fallback: str) -> object:
    value = (class_values or {}).get(name)
    return rgb01(class_color(value)) if value else fallback


def class_box_figure(
    table: pd.DataFrame,
    columns: Sequence[str],
    names: Sequence[str],
    *,
    class_values: Mapping[str, int] | None = None,
    ylabel: str = "Dice",
    title: str = "",
) -> Figure:
    """One box per column of ``table`` (named ``names``), in the class's colour if ``class_values`` has it."""
    from matplotlib.figure import Figure

    data = [_finite(table[c]) for c in columns]
    fig = Figure(figsize=(max(4.0, 1.1 * len(columns) + 1.5), 3.6), layout="constrained")
    ax = fig.add_subplot()
    boxes = ax.boxplot(data, tick_labels=list(names), patch_artist=True, showmeans=True)
    for patch, name in zip(boxes["boxes"], names):
        patch.set_facecolor(_colour(name, class_values, "tab:blue"))
        patch.set_alpha(0.75)
    for x, values in enumerate(data, start=1):
        jitter = np.linspace(-0.12, 0.12, len(values))
        ax.scatter(np.full(len(values), x) + jitter, values, s=9, color="black", zorder=3)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"per-case {ylabel} by class (n = {len(table)})", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def fold_box_figure(long: pd.DataFrame, metric: str) -> Figure:
    """Boxes of ``metric`` per region (groups) and fold (colours), from the long per-case rows."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = long[long["metric"] == metric]
    regions = list(dict.fromkeys(rows["region"].astype(str)))
    folds = list(dict.fromkeys(rows["fold"].astype(str)))
    width = 0.8 / max(1, len(folds))
    wide = 1.4 * len(regions) * max(1, len(folds)) ** 0.5 + 2
    fig = Figure(figsize=(max(4.5, wide), 3.8), layout="constrained")
    ax = fig.add_subplot()
    palette = [f"C{k % 10}" for k in range(len(folds))]
    excluded = 0
    for k, fold in enumerate(folds):
        data = []
        for region in regions:
            chosen = (rows["fold"].astype(str) == fold) & (rows["region"].astype(str) == region)
            values = rows[chosen]["value"]
            finite = _finite(values)
            excluded += len(values) - len(finite)
            data.append(finite)
        positions = np.arange(len(regions)) + (k - (len(folds) - 1) / 2) * width
        boxes = ax.boxplot(
            data, positions=positions, widths=width * 0.9, patch_artist=True, manage_ticks=False
        )
        for patch in boxes["boxes"]:
            patch.set_facecolor(palette[k])
            patch.set_alpha(0.7)
    ax.set_xticks(np.arange(len(regions)), regions)
    ax.set_ylabel(metric)
    note = f"; {excluded} non-finite value(s) left out" if excluded else ""
    ax.set_title(f"per-case {metric} by class and fold{note}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        handles=[Patch(facecolor=c, alpha=0.7, label=f"fold {f}") for f, c in zip(folds, palette)],
        fontsize=8,
        loc="best",
    )
    return fig
