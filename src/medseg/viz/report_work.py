"""The report of a work folder (the pipeline's output, docs/cli.md): config, CV summary, folds, cases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from medseg.viz.boxplots import fold_box_figure
from medseg.viz.html import figure_data_uri, image, link, not_available, table
from medseg.viz.report_common import Section, facts_table, file_links, guarded, href, reasons_list
from medseg.viz.tables import (
    cases_across_folds,
    cv_summary_from_folds,
    cv_summary_table,
    read_fold_tables,
    read_json,
    read_metrics,
)

FILES = ("config.json", "folds.json", "evaluation/*", "fingerprint/*.json")
_FOLD = re.compile(r"fold[_-]?(\w+)$")


def _config(work: Path) -> dict[str, Any]:
    path = work / "config.json"
    return dict(read_json(path)) if path.is_file() else {}


def config_section(work: Path) -> str:
    """Key facts of ``config.json`` and its ``notes`` (the planner's reasons)."""
    config = _config(work)
    if not config:
        return not_available("config", "no config.json")

    def get(dotted: str) -> Any:
        value: Any = config
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    keys = [
        "dataset_info.name",
        "dataset_info.source",
        "dataset_info.labels",
        "spatial_config.spatial_dims",
        "spatial_config.patch_size",
        "spatial_config.target_spacing",
        "model.name",
        "model.params",
        "training.batch_size",
        "training.epochs",
        "training.steps_per_epoch",
        "training.loss",
        "training.optimizer",
        "training.n_folds",
        "training.folds",
        "evaluation.metrics",
    ]
    facts = facts_table((k, get(k)) for k in keys)
    return f"{facts}<h3>Why (the planner's notes)</h3>{reasons_list(config.get('notes') or [], 'notes')}"


def _long(work: Path) -> pd.DataFrame:
    return read_fold_tables(work / "evaluation")


def cv_section(work: Path) -> str:
    """Per-fold means and their mean (``cv_summary.json``; else computed from the fold tables)."""
    path = work / "evaluation" / "cv_summary.json"
    if path.is_file():
        return table(cv_summary_table(read_json(path)), sortable=False)
    body = table(cv_summary_from_folds(_long(work)), sortable=False)
    return "<p>No cv_summary.json: means computed from the per-case tables (finite values).</p>" + body


def boxes_section(work: Path) -> str:
    """One figure per metric: boxes per class, one per fold."""
    long = _long(work)
    metrics = list(dict.fromkeys(long["metric"].astype(str)))
    return "".join(
        image(figure_data_uri(fold_box_figure(long, m)), f"{m} per class and fold") for m in metrics
    )


def cases_section(work: Path) -> str:
    """Every case of every fold, worst first (mean Dice), sortable."""
    wide = cases_across_folds(_long(work))
    note = (
        f"<p>{len(wide)} cases over {wide['fold'].nunique()} fold(s), worst first. "
        "Click a header to sort.</p>"
    )
    sorted_by = "mean" if "mean" in wide.columns else None
    return note + table(wide, table_id="case-table", sorted_by=sorted_by, scroll=True)


def experiment_folders(work: Path) -> list[Path]:
    """Experiment folders under ``work/experiments/<trainer>/<run>/``."""
    root = work / "experiments"
    markers = ("metrics.csv", "plan.json", "checkpoints", "training.log")
    return sorted(p for p in root.glob("*/*") if p.is_dir() and any((p / m).exists() for m in markers))


def _best(folder: Path) -> str:
    path = folder / "metrics.csv"
    if not path.is_file():
        return ""
    metrics = read_metrics(path)
    if "val_score" not in metrics.columns or not metrics["val_score"].notna().any():
        return ""
    return f"{metrics['val_score'].max():.4f}"


def experiments_section(work: Path, reports: dict[Path, Path]) -> str:
    """A table of the experiment folders with links to their own reports."""
    if not reports:
        return not_available("experiments", "no experiments/<trainer>/<run>/ folder")
    rows = []
    for folder, report in reports.items():
        match = _FOLD.search(folder.parent.name)
        try:
            best = _best(folder)
        except Exception as exc:
            best = f"unreadable metrics.csv ({type(exc).__name__})"
        rows.append(
            {
                "fold": match.group(1) if match else "",
                "trainer": folder.parent.name,
                "run": folder.name,
                "best val score": best,
                "report": link(href(report, work), "open report"),
            }
        )
    return table(pd.DataFrame(rows), sortable=False, markup=["report"])


def work_sections(work: Path, reports: dict[Path, Path]) -> list[Section]:
    """The report sections of a work folder; ``reports``: experiment folder -> its report file."""
    return [
        ("config", "Configuration and plan", guarded("config", lambda: config_section(work))),
        ("cv", "Cross-validation summary", guarded("cross-validation summary", lambda: cv_section(work))),
        ("boxes", "Per-class box plots", guarded("box plots", lambda: boxes_section(work))),
        ("cases", "Cases across folds", guarded("per-case table", lambda: cases_section(work))),
        ("experiments", "Experiments", guarded("experiments", lambda: experiments_section(work, reports))),
        ("files", "Files", guarded("files", lambda: file_links(work, FILES))),
    ]
