"""Score one peer run's predictions with medseg's Evaluator: the same scoring for every peer.

Run (the project's venv): PYTHONPATH=src .venv/bin/python bench/peers/score.py RUN_DIR [--task hippocampus]

Dice per foreground class on every test case of the split (RUN_DIR/predictions/<case id>.<ext>, any
image format medseg reads), against the reference labels of the shared data, on the reference's grid.
A prediction stored on another grid (a peer that writes resampled or reoriented files) is resampled
onto the reference (nearest neighbour, in physical space) and the row says so; a missing prediction
is an error. DRIVE: Dice of the vessel class over the whole image (every peer alike; the usual
field-of-view restriction is not applied), predictions as 0/1 or 0/255.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib


def regions(task: peerlib.Task) -> dict[str, list[int]]:
    """Region name -> label values scored (DRIVE accepts the vessel label as 1 or 255)."""
    if task.name == "drive":
        return {"vessel": [1, 255]}
    return {name: [value] for name, value in task.labels.items() if value != 0}


def score_run(run_dir: Path, task: peerlib.Task) -> dict[str, Any]:
    """``{"dice": {region: mean}, "mean_fg_dice", "scored_cases", "per_case": {case: Dice}, "resampled"}``."""
    from medseg.core.errors import DatasetError
    from medseg.data.datasets.detect import open_dataset
    from medseg.evaluation import Evaluator

    predictions = run_dir / "predictions"
    references = open_dataset(task.data).subset([c.case_id for c in task.test])
    evaluator = Evaluator("dice", regions=regions(task), progress=False)
    resampled = False
    try:
        result = evaluator.evaluate_against_dataset(predictions, references)
    except DatasetError as exc:
        if "differs from the reference" not in str(exc):
            raise
        resampled = True
        result = evaluator.evaluate_against_dataset(predictions, references, resample=True)
    dice = {k.split("/")[0]: float(v) for k, v in result.mean_metrics.items() if k.endswith("/dice")}
    per_case = result.wide().mean(axis=1)  # mean foreground Dice of each case
    return {
        "dice": dice,
        "mean_fg_dice": float(per_case.mean()) if len(per_case) else math.nan,
        "scored_cases": len(result.case_ids),
        # each case's mean foreground Dice: what a paired comparison of two rows needs (race.py --paired)
        "per_case": {str(c): float(v) for c, v in per_case.items()},
        "resampled": resampled,
    }


def main() -> int:
    """Print the scores of one run folder as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--task", choices=peerlib.TASKS, default="hippocampus")
    p.add_argument("--data-root", type=Path)
    p.add_argument("--test-cases", type=int, help="score only the first N test cases (smoke runs)")
    args = p.parse_args()
    task = peerlib.load_task(args.task, args.data_root, test_cases=args.test_cases)
    try:
        print(json.dumps(score_run(args.run_dir, task), indent=2))
    except Exception as exc:  # a one-line message for any failure to score
        print(f"score: error: {args.run_dir}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
