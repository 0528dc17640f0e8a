"""Calibration runs for the planner's quality model (medseg.data.planning.quality).

Run: .venv/bin/python bench/training/calibrate_planner.py hippocampus [--only NAME ...] [--work DIR]
     .venv/bin/python bench/training/calibrate_planner.py drive
     .venv/bin/python bench/training/calibrate_planner.py fit     # fit the constants to every result

Each run trains one configuration (width, depth, patch, batch) for a *complete* schedule of a fixed
number of optimiser steps (poly decay to 0, so the final Dice is what that many steps give), then
predicts held-out cases and records their mean foreground Dice. Runs are step-counted, not timed, so
their outcome does not depend on what else the machine does. Results are appended to
``results/planner_calibration.jsonl`` (one JSON object per run); ``fit`` fits the model's constants
by least squares over all of them and prints the fit and its residuals.

Splits: hippocampus trains on 166 of the 208 cases and scores the 42 of fold 0 (5 folds, seed 0);
the final quality benchmark scores fold 1 (cases never used to calibrate). DRIVE trains on 15 and
scores 5 of its 20 images.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(
    os.environ.get(
        "MEDSEG_CALIBRATION_RESULTS",
        Path(__file__).resolve().parent / "results" / "planner_calibration.jsonl",
    )
)

# name -> (width, patch, batch, poolings below the full depth, steps)
HIPPOCAMPUS = {
    "w16-full-250": (16, [40, 56, 40], 2, 0, 250),
    "w16-full-1000": (16, [40, 56, 40], 2, 0, 1000),
    "w8-tiny-3000": (8, [20, 28, 20], 2, 1, 3000),
    "w16-small-1000": (16, [24, 32, 24], 2, 0, 1000),
    "w8-full-1000": (8, [40, 56, 40], 2, 0, 1000),
    "w16-shallow-1000": (16, [40, 56, 40], 2, 1, 1000),
    "w32-full-1000": (32, [40, 56, 40], 2, 0, 1000),
    "w16-small-3000": (16, [24, 32, 24], 2, 0, 3000),
    "w16-full-3000": (16, [40, 56, 40], 2, 0, 3000),
}
DRIVE = {
    "w16-256-300": (16, [256, 256], 4, 0, 300),
    "w16-256-1000": (16, [256, 256], 4, 0, 1000),
    "w32-512-300": (32, [512, 512], 2, 0, 300),
    "w32-512-1000": (32, [512, 512], 2, 0, 1000),
    "w8-256-1000": (8, [256, 256], 4, 0, 1000),
    "w16-128-1000": (16, [128, 128], 8, 0, 1000),
}


def _dataset(name: str) -> tuple[Any, list[str], list[str]]:
    from medseg.data.datasets import MSDDataset
    from medseg.data.datasets.detect import open_dataset
    from medseg.data.folds import kfold_assignments

    if name == "hippocampus":
        dataset = MSDDataset(SHARED / "Task04_Hippocampus")
        folds = kfold_assignments(dataset.case_ids, n_folds=5, seed=0)
    else:
        dataset = open_dataset(SHARED / "DRIVE")
        folds = kfold_assignments(dataset.case_ids, n_folds=4, seed=0)
    test = sorted(c for c, f in folds.items() if f == 0)
    train = sorted(c for c, f in folds.items() if f != 0)
    return dataset, train, test


def run(
    dataset_name: str, name: str, spec: tuple[int, list[int], int, int, int], work: Path
) -> dict[str, Any]:
    """Train one configuration for its steps and score the held-out cases."""
    import numpy as np

    from medseg.config import Config, apply_overrides
    from medseg.core.topology import unet_topology
    from medseg.nets import network_entry
    from medseg.presets.pipeline import analyze, make_evaluator, predict, train

    width, patch, batch, fewer, steps = spec
    dataset, train_ids, test_ids = _dataset(dataset_name)
    train_set, test_set = dataset.subset(train_ids), dataset.subset(test_ids)
    spacing = [1.0] * len(patch)
    pools = len(unet_topology(patch, spacing).pool_strides) - fewer
    params = network_entry("unet").planned_params(patch, spacing, width, pools)
    epochs = max(1, steps // 50)
    overrides = {
        "spatial_config.patch_size": patch,
        "training.batch_size": batch,
        "model.params": params,
        "training.epochs": epochs,
        "training.steps_per_epoch": min(50, steps),
        "training.n_folds": 5,
        "training.val_max_share": 0.05,
        "inference.tta": False,
        "inference.checkpoint": "latest",
    }
    config = apply_overrides(Config(), overrides)
    run_dir = work / dataset_name / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    start = time.perf_counter()
    config = analyze(train_set, config, run_dir, progress=False)
    experiment = train(train_set, config, run_dir, fold=0, progress=False)
    train_seconds = time.perf_counter() - start
    from medseg.data.inspection import inspect

    fingerprint = inspect(train_set, cache_dir=run_dir / "fingerprint", progress=False)
    shapes = fingerprint.resampled_shapes(spacing)
    predicted = predict(config, [experiment], test_set, run_dir / "test")
    result = make_evaluator(config, progress=False).evaluate_dataset(test_set, predicted)
    dice = {k.split("/")[0]: v for k, v in result.mean_metrics.items() if k.endswith("/dice")}
    record = {
        "dataset": dataset_name,
        "name": name,
        "width": width,
        "patch": patch,
        "batch": batch,
        "poolings": pools,
        "stages": pools + 1,
        "steps": epochs * min(50, steps),
        "train_cases": len(train_ids),
        "test_cases": len(test_ids),
        "dice": dice,
        "mean_dice": sum(dice.values()) / len(dice),
        "train_seconds": round(train_seconds, 1),
        "plan_params": params,
        "object_mm": fingerprint.summary.foreground_roi_mm,
        "median_case_voxels": float(np.median(np.prod(shapes, axis=1))),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    shutil.rmtree(run_dir / "preprocessed", ignore_errors=True)
    return record


def fit() -> None:
    """Least-squares fit of the quality model's constants to every recorded run."""
    import numpy as np
    from scipy.optimize import least_squares

    from medseg.data.planning.candidates import Candidate
    from medseg.data.planning.quality import DataShape, QualityModel
    from medseg.nets import network_entry

    records = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    entry = network_entry("unet")
    rows = []
    for r in records:
        spacing = [1.0] * len(r["patch"])
        cand = Candidate.build(entry, r["width"], r["patch"], r["batch"], spacing, r["poolings"])
        data = DataShape(r["train_cases"], r["median_case_voxels"], r["object_mm"], spacing)
        rows.append((cand, r["steps"], data, r["mean_dice"], r["dataset"]))

    # The capacity constants are fixed, not fitted: converged quality versus width is not identifiable
    # from runs of a few thousand steps (the fit drives k_w to ~1, i.e. "width never matters once
    # converged", and the planner would then pick width 8 with unlimited time). The prior: a width-8
    # network converges 5.5% below its asymptote, width 32 0.4%: enough that 32 beats 24 beyond the
    # planner's 0.003 tie rule at unlimited time (nnU-Net's choice of 32 at full budget).
    c_w, k_w = 0.1, 10.0
    names = ["d_max", "gamma", "s0", "p0", "alpha", "beta", "rho", "d_max_drive"]

    def model(x: np.ndarray) -> QualityModel:
        return QualityModel(
            d_max=x[0], c_w=c_w, k_w=k_w, gamma=x[1], s0=x[2], p0=x[3], alpha=x[4], beta=x[5], rho=x[6]
        )

    def residuals(x: np.ndarray) -> np.ndarray:
        m = model(x)  # one d_max per dataset: their attainable Dice differs, the rest of the model is shared
        return np.array(
            [
                m.expected(c, s, d) * (1.0 if ds == "hippocampus" else x[7] / x[0]) - y
                for c, s, d, y, ds in rows
            ]
        )

    start = np.array([0.9, 0.3, 300.0, 1.0, 2.0, 1.0, 0.5, 0.8])
    bounds = ([0.5, 0.0, 1.0, 0.01, 0.5, 0.0, 0.05, 0.3], [1.0, 2.0, 5000.0, 500.0, 6.0, 3.0, 1.0, 1.0])
    fitted = least_squares(residuals, start, bounds=bounds)
    print(
        {"c_w (fixed)": c_w, "k_w (fixed)": k_w}
        | {n: round(float(v), 4) for n, v in zip(names, fitted.x, strict=True)}
    )
    for (cand, steps, _, y, ds), res in zip(rows, residuals(fitted.x), strict=True):
        print(
            f"{ds:12s} {cand.label():60s} {steps:5d} steps  observed {y:.4f}  model {y + res:.4f}  ({res:+.4f})"
        )
    print(f"RMS residual {float(np.sqrt(np.mean(residuals(fitted.x) ** 2))):.4f} over {len(rows)} runs")


def main() -> None:
    """Run the named calibration set (or fit)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["hippocampus", "drive", "fit"])
    parser.add_argument("--only", nargs="*", help="run only these configurations")
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_calibration"))
    args = parser.parse_args()
    if args.what == "fit":
        fit()
        return
    table = HIPPOCAMPUS if args.what == "hippocampus" else DRIVE
    done = set()
    if RESULTS.is_file():
        done = {
            (r["dataset"], r["name"])
            for r in map(json.loads, RESULTS.read_text(encoding="utf-8").splitlines())
        }
    for name, spec in table.items():
        if (args.only and name not in args.only) or (args.what, name) in done:
            continue
        record = run(args.what, name, spec, args.work)
        print(json.dumps({k: record[k] for k in ("name", "steps", "mean_dice", "train_seconds")}), flush=True)


if __name__ == "__main__":
    main()
