"""Finding the trained runs of a work folder: ``experiments/SegmentationTrainer_fold<k>/<run>/``.

Only runs that hold a ``latest`` checkpoint count: a run that failed before its first epoch ended
(its folder is normally removed, but a killed process cannot clean up) is never picked by
``predict -w`` or ``train --resume``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from medseg.core.errors import ConfigError

RUN_PREFIX = "SegmentationTrainer_fold"


def run_name(fold: int | Literal["all"]) -> str:
    """The experiment-folder name of ``fold``."""
    return f"{RUN_PREFIX}{fold}"


def completed_runs(work_dir: str | Path, fold: int | Literal["all"]) -> list[Path]:
    """The runs of ``fold`` that hold a checkpoint, oldest first."""
    root = Path(work_dir) / "experiments" / run_name(fold)
    return sorted(p for p in root.glob("*/") if (p / "checkpoints" / "latest.safetensors").is_file())


def latest_experiment(work_dir: str | Path, fold: int | Literal["all"]) -> Path:
    """The newest run of ``fold`` with a checkpoint (one-line error when there is none)."""
    runs = completed_runs(work_dir, fold)
    if not runs:
        raise ConfigError(
            f"{work_dir}: no trained run for fold {fold} (no checkpoint under "
            f"experiments/{run_name(fold)}/); run `medseg train` first"
        )
    return runs[-1]


def trained_folds(work_dir: str | Path) -> list[str]:
    """Every fold of ``work_dir`` with a completed run."""
    root = Path(work_dir) / "experiments"
    folds = [p.name.removeprefix(RUN_PREFIX) for p in sorted(root.glob(f"{RUN_PREFIX}*"))]
    return [f for f in folds if completed_runs(work_dir, "all" if f == "all" else int(f))]


def trained_experiments(work_dir: str | Path, folds: list[str] | Literal["all"]) -> list[Path]:
    """The newest completed run of each fold in ``folds`` (``all``: every trained fold)."""
    chosen = trained_folds(work_dir) if folds == "all" else list(folds)
    if not chosen:
        raise ConfigError(f"{work_dir}: no trained fold under experiments/; run `medseg train` first")
    return [latest_experiment(work_dir, "all" if f == "all" else int(f)) for f in chosen]
