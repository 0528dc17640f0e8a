"""Quality benchmark: the fully automatic pipeline on Task04 Hippocampus, one fold, one CPU hour.

Run: .venv/bin/python bench/training/bench_hippocampus_quality.py [--budget 3600] [--fold 1] [--work DIR]

208 cases from ../shared/data/Task04_Hippocampus (or $MEDSEG_SHARED_DATA), 5 folds (seed 0); fold 1 by
default: its 42 cases were never used to tune anything (the planner's calibration scores fold 0).
analyse -> budget-aware plan for ``--budget`` seconds on this machine -> preprocess -> train within
what is left of the budget -> predict the fold's cases in their original space (mirror TTA) with the
*last* checkpoint (the best one would be chosen on these very cases) -> Dice per class. Nothing is
tuned by hand: this is what ``medseg run-all --time-budget`` does.

Reference (../shared/data/README.md): a hand-written MONAI U-Net trained 60 minutes on this CPU
reaches about 0.87 mean foreground Dice; nnU-Net reports about 0.90/0.89 with a GPU and 1000 epochs.
The run's metrics.csv (the validation curve) is copied next to the JSON result for the
score-prediction evaluation (bench/training/bench_score_prediction.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data")) / "Task04_Hippocampus"
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    """Run fold 0 within the budget and write the result JSON and the curve to bench/training/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=3600.0, help="wall-clock seconds, analysis included")
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_hippocampus_quality"))
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override (YAML value), e.g. training.ema=true (recorded in the result)",
    )
    args = parser.parse_args()

    import yaml

    from medseg.config import Config, apply_overrides
    from medseg.data import MSDDataset
    from medseg.presets import run_fold

    if args.work.exists():
        shutil.rmtree(args.work)
    overrides = {"inference.checkpoint": "latest", "training.n_folds": 5}
    for item in args.settings:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    start = time.perf_counter()
    result = run_fold(
        MSDDataset(DATA),
        args.work,
        fold=args.fold,
        time_budget_s=args.budget,
        config=apply_overrides(Config(), overrides),
    )
    seconds = time.perf_counter() - start
    mean = sum(result.mean_dice.values()) / len(result.mean_dice)
    config = json.loads((args.work / "config.json").read_text(encoding="utf-8"))
    summary = {
        "dataset": "Task04_Hippocampus (208 cases)",
        "fold": args.fold,
        "budget_s": args.budget,
        "wall_s": round(seconds, 1),
        "dice": result.mean_dice,
        "mean_foreground_dice": mean,
        "overrides": overrides,
        "plan": {k: config[k] for k in ("spatial_config", "model")},
        "training": {
            k: config["training"].get(k)
            for k in ("batch_size", "planned_steps", "step_seconds", "amp", "layout", "ema")
        },
        "cpu_threads": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"hippocampus_fold{args.fold}{args.tag}"
    (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    shutil.copy(result.experiment / "metrics.csv", RESULTS / f"{name}_metrics.csv")
    print(json.dumps(summary, indent=2))
    print(
        f"mean foreground Dice {mean:.4f} (target >= 0.89; MONAI baseline about 0.87) in {seconds / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
