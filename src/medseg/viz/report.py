"""``write_report(folder)``: one self-contained ``report.html`` for an experiment or a work folder.

An experiment folder (``metrics.csv``, ``plan.json``, ``checkpoints/``, ...) gets its plan and reasons,
curves, per-case validation table with box plots, worst-case previews, the worst case's montage,
scroll and 3-D GIFs (:mod:`medseg.viz.report_visuals`, written at the end of training) and links to
its files. A work folder (``config.json``, ``evaluation/``, ``experiments/``) gets its configuration
and notes, the cross-validation summary, per-fold box plots, the per-case table across folds and
links to the experiments' own reports, which are written too. Missing or unreadable pieces are shown as
"not available"; only a folder that does not exist is an error.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

from medseg.core.atomic import write_text_atomic
from medseg.core.errors import MedsegError
from medseg.viz.html import page
from medseg.viz.output import readable
from medseg.viz.report_experiment import experiment_sections
from medseg.viz.report_work import experiment_folders, work_sections

REPORT_NAME = "report.html"
ReportKind = Literal["auto", "experiment", "work"]


def folder_kind(folder: Path) -> Literal["experiment", "work"]:
    """``"work"`` for a pipeline work folder (``experiments/``, ``evaluation/``), else ``"experiment"``."""
    if (folder / "experiments").is_dir() or (folder / "evaluation").is_dir():
        return "work"
    experiment_markers = ("metrics.csv", "plan.json", "checkpoints", "training.log", "plots", "previews")
    if not any((folder / m).exists() for m in experiment_markers) and (folder / "config.json").is_file():
        return "work"
    return "experiment"


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


def write_experiment_report(folder: Path) -> Path:
    """Write ``folder/report.html`` for an experiment folder."""
    html = page(
        f"Experiment {folder.parent.name}/{folder.name}",
        f"{folder} · written {_stamp()}",
        experiment_sections(folder),
    )
    return readable(write_text_atomic(folder / REPORT_NAME, html))


def write_work_report(folder: Path) -> Path:
    """Write ``folder/report.html`` for a work folder, and the report of each of its experiments."""
    reports = {exp: write_experiment_report(exp) for exp in experiment_folders(folder)}
    sections = work_sections(folder, reports)
    html = page(f"Work folder {folder.name}", f"{folder} · written {_stamp()}", sections)
    return readable(write_text_atomic(folder / REPORT_NAME, html))


def write_report(folder: str | os.PathLike[str], kind: ReportKind = "auto") -> Path:
    """Write ``folder/report.html`` (see the module docstring) and return its path."""
    root = Path(folder)
    if not root.is_dir():
        raise MedsegError(f"{root}: not a folder (give an experiment folder or a work folder)")
    chosen = folder_kind(root) if kind == "auto" else kind
    return write_work_report(root) if chosen == "work" else write_experiment_report(root)
