"""The report of one experiment folder (docs/experiment-folder.md): plan, curves, cases, previews, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medseg.viz.boxplots import class_box_figure
from medseg.viz.curves import curves_figure
from medseg.viz.html import figure_data_uri, image, not_available, table
from medseg.viz.report_common import Section, facts_table, file_links, gallery, guarded, reasons_list
from medseg.viz.report_visuals import VISUAL_FILES, visuals_section
from medseg.viz.tables import read_case_table, read_json, read_metrics

#: plots shown first, in this order; any other ``plots/*.png`` follows
PLOT_ORDER = ("progress", "losses", "dice", "lr", "epoch_time")
CASES_CSV = Path("validation") / "cases.csv"
FILES = (
    "checkpoints/*.safetensors",
    "metrics.csv",
    "training.log",
    "plan.json",
    "config.json",
    "validation/*.csv",
    "plots/*",
    "previews/*",
)


def _plan(folder: Path) -> dict[str, Any]:
    path = folder / "plan.json"
    return dict(read_json(path)) if path.is_file() else {}


def plan_section(folder: Path) -> str:
    """Plan facts and the planner's reasons (``plan.json``; else the notes of ``config.json``)."""
    plan = _plan(folder)
    config_path = folder / "config.json"
    config = dict(read_json(config_path)) if config_path.is_file() else {}
    if not plan and not config:
        return not_available("plan", "no plan.json or config.json")
    network = plan.get("network") or {}
    norm = [n.get("scheme", n) if isinstance(n, dict) else n for n in plan.get("normalization") or []]
    facts = (
        facts_table(
            [
                ("network", network.get("name")),
                ("network params", network.get("params")),
                ("spatial dims", plan.get("spatial_dims")),
                ("patch size", plan.get("patch_size")),
                ("batch size", plan.get("batch_size")),
                ("target spacing", plan.get("target_spacing")),
                ("labels", plan.get("labels")),
                ("channels", plan.get("channel_names")),
                ("normalization", norm or None),
                ("foreground oversampling", plan.get("foreground_oversampling")),
                ("planned steps", (plan.get("training") or {}).get("steps")),
            ]
        )
        if plan
        else not_available("plan.json")
    )
    reasons = plan.get("reasons") or config.get("notes") or []
    return f"{facts}<h3>Why (the planner's reasons)</h3>{reasons_list(reasons, 'reasons')}"


def _last_and_best(metrics: pd.DataFrame) -> str:
    rows = []
    score = metrics["val_score"] if "val_score" in metrics.columns else None
    if score is not None and score.notna().any():
        at = int(np.nanargmax(score.to_numpy(dtype=float)))
        epoch = metrics["epoch"].iloc[at] if "epoch" in metrics.columns else at
        rows.append(("best validation score", f"{score.iloc[at]:.4f} at epoch {epoch:.0f}"))
    rows.append(("epochs run", str(len(metrics))))
    last = metrics.iloc[-1]
    rows.extend(
        (f"last {c}", f"{last[c]:.4g}")
        for c in metrics.columns
        if c != "epoch" and pd.notna(last[c]) and np.isfinite(last[c])
    )
    return table(pd.DataFrame(rows, columns=["", "value"]), sortable=False)


def curves_section(folder: Path) -> str:
    """The trainer's ``plots/*.png`` (rebuilt from ``metrics.csv`` when there are none) and a summary."""
    plots = sorted((folder / "plots").glob("*.png"))
    plots.sort(key=lambda p: (PLOT_ORDER.index(p.stem) if p.stem in PLOT_ORDER else len(PLOT_ORDER), p.name))
    metrics_path = folder / "metrics.csv"
    metrics = read_metrics(metrics_path) if metrics_path.is_file() else None
    if plots:
        body = gallery(plots, folder, "plots")
    elif metrics is not None and len(metrics):
        body = image(figure_data_uri(curves_figure(metrics)), "rebuilt from metrics.csv")
    else:
        return not_available("training curves", "no plots/*.png and no metrics.csv")
    if metrics is not None and len(metrics):
        summary = guarded("metrics summary", lambda: _last_and_best(metrics))
    else:
        summary = not_available("metrics.csv")
    return body + "<h3>Summary</h3>" + summary


def cases_section(folder: Path) -> str:
    """Per-case validation table (worst first, sortable) and per-class box plots."""
    path = folder / CASES_CSV
    if not path.is_file():
        return not_available("per-case table", f"no {CASES_CSV.as_posix()}")
    frame = read_case_table(path)
    dice = [c for c in frame.columns if str(c).startswith("dice_")]
    names = [str(c)[len("dice_") :] for c in dice]
    labels = {str(k): int(v) for k, v in (_plan(folder).get("labels") or {}).items()}
    if dice:
        figure = class_box_figure(frame, dice, names, class_values=labels)
        boxes = image(figure_data_uri(figure), "Dice per class")
    else:
        boxes = not_available("box plots", "no dice_<class> columns")
    note = (
        f"<p>{len(frame)} validation cases, worst first (mean Dice over classes). Click a header to sort.</p>"
    )
    return note + table(frame, table_id="case-table", sorted_by="mean" if dice else None, scroll=True) + boxes


def previews_section(folder: Path) -> str:
    """The trainer's ``previews/*`` (worst case after the last validation), the visual reports left out."""
    shown = [p for p in sorted((folder / "previews").glob("*")) if p.name not in VISUAL_FILES]
    return gallery(shown, folder, "previews")


def experiment_sections(folder: Path) -> list[Section]:
    """The report sections of an experiment folder."""
    return [
        ("plan", "Plan", guarded("plan", lambda: plan_section(folder))),
        ("curves", "Training curves", guarded("training curves", lambda: curves_section(folder))),
        ("cases", "Validation cases", guarded("per-case table", lambda: cases_section(folder))),
        ("previews", "Worst-case previews", guarded("previews", lambda: previews_section(folder))),
        (
            "visuals",
            "Worst case: montage, scroll and 3-D views",
            guarded("visual reports", lambda: visuals_section(folder)),
        ),
        ("files", "Files", guarded("files", lambda: file_links(folder, FILES))),
    ]
