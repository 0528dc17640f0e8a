"""Quality benchmark (issue 6, item 9): the fully automatic pipeline on Task04 Hippocampus, fold 0.

Run: .venv/bin/python bench/training/bench_hippocampus_quality.py [--budget 3600] [--work /tmp/hippo_q]

208 cases from ../shared/data/Task04_Hippocampus (or $MEDSEG_SHARED_DATA), fold 0 of 5 (seed 0):
analyse -> budget-aware plan for ``--budget`` seconds on this machine -> preprocess -> train within
what is left of the budget -> predict the fold's validation cases in their original space (mirror
TTA) -> Dice per class. Nothing is tuned by hand: this is what ``medseg run-all`` does.

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
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from medseg.data import MSDDataset
    from medseg.presets import run_fold

    if args.work.exists():
        shutil.rmtree(args.work)
    start = time.perf_counter()
    result = run_fold(MSDDataset(DATA), args.work, fold=0, n_folds=5, time_budget_s=args.budget,
                      workers=args.workers)
    seconds = time.perf_counter() - start
    mean = sum(result.mean_dice.values()) / len(result.mean_dice)
    plan = json.loads((args.work / "plan.json").read_text(encoding="utf-8"))
    summary = {
        "dataset": "Task04_Hippocampus (208 cases)", "fold": 0, "budget_s": args.budget,
        "wall_s": round(seconds, 1), "dice": result.mean_dice, "mean_foreground_dice": mean,
        "plan": {k: plan.get(k) for k in ("patch_size", "batch_size", "target_spacing", "network", "training")},
        "cpu_threads": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hippocampus_fold0.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    shutil.copy(result.experiment / "metrics.csv", RESULTS / "hippocampus_fold0_metrics.csv")
    print(json.dumps(summary, indent=2))
    print(f"mean foreground Dice {mean:.4f} (target >= 0.88; MONAI baseline about 0.87) in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
