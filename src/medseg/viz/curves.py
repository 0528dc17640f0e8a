"""Training curves rebuilt from ``metrics.csv`` (for runs whose ``plots/`` are missing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: column groups shown, one panel each, when present
PANELS = {
    "loss": lambda c: c in ("train_loss", "val_loss") or (c.startswith("train_") and c != "train_loss"),
    "validation score": lambda c: c in ("val_score", "val_mean_dice"),
    "Dice per class": lambda c: c.startswith("dice_"),
    "learning rate": lambda c: c == "lr",
}


def _plot(ax: Axes, frame: pd.DataFrame, columns: list[str], x: pd.Series) -> None:
    for column in columns:
        values = frame[column]
        keep = values.notna()
        ax.plot(x[keep], values[keep], label=column, marker="." if keep.sum() < 30 else None)


def curves_figure(metrics: pd.DataFrame) -> Figure:
    """One panel per group of :data:`PANELS` found in ``metrics`` (x axis: ``epoch`` or the row number)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = pd.Series(range(len(metrics)), index=metrics.index)
    x = metrics["epoch"] if "epoch" in metrics.columns else rows
    groups = {
        name: [c for c in metrics.columns if rule(str(c)) and metrics[c].notna().any()]
        for name, rule in PANELS.items()
    }
    groups = {name: cols for name, cols in groups.items() if cols}
    if not groups:
        raise ValueError("metrics.csv has no loss, score, Dice or learning-rate column")
    fig = Figure(figsize=(5.2 * min(2, len(groups)), 3.4 * ((len(groups) + 1) // 2)), layout="constrained")
    axes = fig.subplots((len(groups) + 1) // 2, min(2, len(groups)), squeeze=False).ravel()
    for ax, (name, columns) in zip(axes, groups.items()):
        _plot(ax, metrics, columns, x)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        if name == "learning rate" and bool((metrics["lr"].dropna() > 0).all()):
            ax.set_yscale("log")
    for ax in axes[len(groups) :]:
        ax.set_axis_off()
    return fig
