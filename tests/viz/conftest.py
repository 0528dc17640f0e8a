"""Fixtures of the viz tests: real data (skip when absent, fail under CI=true), and small but complete
experiment and work folders written the way the trainer and the pipeline write them."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from medseg.evaluation import EvalResult

ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = [Path(os.environ["MEDSEG_SHARED_DATA"])] if os.environ.get("MEDSEG_SHARED_DATA") else []
_CANDIDATES += [ROOT.parent / "shared" / "data"]  # as tests/conftest.py: ../shared/data beside the clone


def unavailable(reason: str) -> None:
    """Skip the test, or fail it under ``CI=true`` (where everything must be present)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def _real_data(relative: str) -> Path:
    for base in _CANDIDATES:
        if (base / relative).exists():
            return base / relative
    unavailable(f"real data {relative} not found under {', '.join(map(str, _CANDIDATES))}")
    raise AssertionError("unreachable")


@pytest.fixture
def real_data() -> Callable[[str], Path]:
    """``real_data("Task04_Hippocampus")``: a path of the shared real data, or skip (fail under CI)."""
    return _real_data


def _png(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(ramp, (size[1], size[0], 3)).copy()
    pixels[..., 0] = colour[0]
    PILImage.fromarray(pixels, "RGB").save(path)


PLAN = {
    "version": 1,
    "spatial_dims": 3,
    "channel_names": ["MRI"],
    "labels": {"background": 0, "anterior": 1, "posterior": 2},
    "target_spacing": [1.0, 1.0, 1.0],
    "normalization": [{"scheme": "zscore"}],
    "patch_size": [40, 56, 40],
    "batch_size": 9,
    "network": {"name": "unet", "params": {"features": [32, 64, 128]}},
    "reasons": [
        "patch size covers the median case shape (36 x 50 x 35)",
        "batch size 9 fills the 8 GB memory budget",
    ],
}
CASES = [
    ("hippocampus_007", 0.91, 0.88),
    ("hippocampus_011", 0.42, 0.63),
    ("hippocampus_014", 0.87, 0.90),
    ("hippocampus_021", 0.12, 0.35),
    ("hippocampus_033", 0.80, 0.79),
]


def write_experiment(folder: Path, cases: bool = True) -> Path:
    """An experiment folder as the trainer leaves it after 4 epochs (plus validation/cases.csv)."""
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "checkpoints" / "latest.safetensors").write_bytes(b"\0" * 64)
    (folder / "checkpoints" / "best.safetensors").write_bytes(b"\0" * 64)
    lines = ["epoch,train_loss,lr,val_score,val_loss,val_mean_dice,dice_anterior,dice_posterior,epoch_time"]
    for e in range(4):
        values = [
            1.2 - 0.2 * e,
            0.01 * (1 - e / 4),
            0.5 + 0.1 * e,
            1.1 - 0.2 * e,
            0.5 + 0.1 * e,
            0.45 + 0.1 * e,
            0.55 + 0.1 * e,
            12.5,
        ]
        lines.append(",".join([str(e)] + [f"{v:.5g}" for v in values]))
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "training.log").write_text("epoch 0 ...\n", encoding="utf-8")
    (folder / "plan.json").write_text(json.dumps(PLAN, indent=2), encoding="utf-8")
    _png(folder / "plots" / "progress.png", (70, 40), (200, 30, 30))
    _png(folder / "plots" / "dice.png", (60, 30), (30, 200, 30))
    _png(folder / "previews" / "worst_case.png", (50, 50), (30, 30, 200))
    if cases:
        rows = ["case_id,dice_anterior,dice_posterior"] + [f"{c},{a},{p}" for c, a, p in CASES]
        (folder / "validation").mkdir(exist_ok=True)
        (folder / "validation" / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


FOLD_CASES = {
    0: [("case_a", 0.9, 0.85, 2.0), ("case_b", 0.3, 0.5, float("inf"))],
    1: [("case_c", 0.7, 0.75, 3.5), ("case_d", 0.95, 0.9, 1.0), ("case_e", 0.05, 0.2, 15.0)],
}


def write_work(work: Path) -> Path:
    """A work folder after ``run-all`` with two folds: config, evaluation tables, CV summary, experiments."""
    work.mkdir(parents=True, exist_ok=True)
    config = {
        "version": 1,
        "dataset_info": {"name": "Hippocampus", "labels": PLAN["labels"]},
        "spatial_config": {"spatial_dims": 3, "patch_size": [40, 56, 40]},
        "model": {"name": "unet"},
        "training": {"batch_size": 9, "folds": [0, 1]},
        "evaluation": {"metrics": ["dice", "hd95"]},
        "notes": ["target spacing is the median spacing (1 x 1 x 1 mm)", "3d full resolution U-Net"],
    }
    (work / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    summary: dict[str, dict] = {"folds": {}}
    for fold, rows in FOLD_CASES.items():
        long = []
        for case, a, p, hd in rows:
            long += [
                {"case_id": case, "region": "anterior", "metric": "dice", "value": a},
                {"case_id": case, "region": "anterior", "metric": "hd95", "value": hd},
                {"case_id": case, "region": "posterior", "metric": "dice", "value": p},
                {"case_id": case, "region": "posterior", "metric": "hd95", "value": hd + 1},
            ]
        result = EvalResult.from_rows(long)
        result.to_csv(work / "evaluation" / f"fold_{fold}.csv")
        run = work / "experiments" / f"SegmentationTrainer_fold{fold}" / "20260101-120000-abc123"
        exp = write_experiment(run)
        summary["folds"][str(fold)] = {"experiment": str(exp), "mean": result.mean_metrics}
    keys = sorted(summary["folds"]["0"]["mean"])
    summary["mean"] = {k: float(np.mean([f["mean"][k] for f in summary["folds"].values()])) for k in keys}
    (work / "evaluation" / "cv_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return work


@pytest.fixture
def experiment_dir(tmp_path: Path) -> Path:
    """A complete experiment folder."""
    return write_experiment(tmp_path / "experiments" / "SegmentationTrainer" / "20260101-120000-abc123")


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A complete work folder with two folds."""
    return write_work(tmp_path / "work")


@pytest.fixture
def experiment_case_rows() -> list[tuple[str, float, float]]:
    """The rows of the experiment fixture's validation/cases.csv: case, Dice anterior, Dice posterior."""
    return list(CASES)


@pytest.fixture
def fold_case_rows() -> dict[int, list[tuple[str, float, float, float]]]:
    """The work fixture's cases per fold: case, Dice anterior, Dice posterior, HD95 anterior."""
    return {k: list(v) for k, v in FOLD_CASES.items()}


@pytest.fixture
def chromium() -> Callable[[], str]:
    """Path of a Chromium binary (skip/fail when missing)."""

    def find() -> str:
        for name in ("chromium", "chromium-browser", "google-chrome"):
            found = shutil.which(name)
            if found:
                return found
        unavailable("chromium is not installed (apt-get install -y chromium)")
        raise AssertionError("unreachable")

    return find
