"""DRIVE vessels: Dice+CE vs clDice vs a composite region+boundary schedule, same steps, same seed.

Run: .venv/bin/python bench/losses/bench_drive_losses.py [--budget 900] [--work /tmp/medseg_drive_losses]
     [--steps N] [--patch H W] [--features F]   (pin the comparison instead of the load-dependent plan)

The 20 DRIVE training images: a fixed split of 15 for training and 5 held out (the last 5 case ids).
The plan is made once, for a ``--budget`` seconds run on this machine (``medseg analyze
--time-budget``); every contender then trains that same network for the same planned number of
optimiser steps from the same seed (steps, not seconds: the comparison does not depend on the load),
then predicts the held-out images (mirror TTA) and is scored with Dice, clDice and HD95 of the
vessels. Results are appended to ``bench/losses/results/drive_losses.jsonl`` and printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results" / "drive_losses.jsonl"
CONTENDERS = {
    "dice_ce": {"training.loss": "dice_ce"},
    "cldice": {"training.loss": "cldice"},
    "boundary (linear)": {"training.loss": "boundary", "training.composite_weighting": "linear"},
    # clDice with its constant alpha 0.5 collapsed to "foreground everywhere" in a 1000-step run here
    # (an empty predicted skeleton makes the topology precision 1): Dice leads first, then 50/50
    "cldice (linear 1 -> 0.5)": {
        "training.loss": "cldice",
        "training.composite_weighting": {"name": "linear", "params": {"end_val": 0.5}},
    },
}


def main() -> None:
    """Train and score every contender."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=900.0, help="seconds the plan is made for")
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_drive_losses"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--steps", type=int, help="optimiser steps per contender (default: the plan's)")
    parser.add_argument("--patch", type=int, nargs=2, help="patch size (default: the plan's)")
    parser.add_argument("--features", type=int, help="U-Net base features (default: the plan's)")
    args = parser.parse_args()

    from medseg.config import Config, apply_overrides
    from medseg.data.datasets.detect import open_dataset
    from medseg.presets.pipeline import analyze, make_evaluator, predict, train

    dataset = open_dataset(SHARED / "DRIVE")
    ids = sorted(dataset.case_ids, key=int)
    train_set, test_set = dataset.subset(ids[:15]), dataset.subset(ids[15:])
    if args.work.exists():
        shutil.rmtree(args.work)
    base = {
        "training.seed": 0,
        "training.n_folds": 5,
        "training.val_max_share": 0.1,
        "inference.checkpoint": "latest",
        "evaluation.metrics": ["dice", "cldice", "hd95"],
        "training.time_budget_s": args.budget,
    }
    planned = analyze(train_set, apply_overrides(Config(), base), args.work / "plan", progress=False)
    steps = args.steps or int(planned.training.planned_steps or 1000)
    fixed: dict[str, object] = {}  # a plan made on a loaded machine is small: these pin it for a fair run
    if args.patch:
        fixed["spatial_config.patch_size"] = list(args.patch)
    if args.features:
        fixed["model.params"] = {**(planned.model.params or {}), "features_base": args.features}
    planned = apply_overrides(planned, fixed)
    per_epoch = planned.training.steps_per_epoch
    epochs = max(1, steps // per_epoch)
    for name, settings in CONTENDERS.items():
        if args.only and name not in args.only:
            continue
        # a folder per contender: "cldice (linear 1 -> 0.5)" trains in cldice_linear_1_0_5/
        work = args.work / re.sub(r"\W+", "_", name).strip("_")
        config = apply_overrides(
            planned, {"training.epochs": epochs, "training.time_budget_s": None, **settings}
        )
        start = time.perf_counter()
        experiment = train(train_set, config, work, fold=0, progress=False)
        seconds = time.perf_counter() - start
        predicted = predict(config, [experiment], test_set, work / "test")
        means = make_evaluator(config, progress=False).evaluate_dataset(test_set, predicted).mean_metrics
        record = {
            "contender": name,
            "steps": epochs * per_epoch,
            "train_seconds": round(seconds, 1),
            "patch": config.spatial_config.patch_size,
            "features": (config.model.params or {}).get("features_base"),
            "date": time.strftime("%Y-%m-%d"),
            **{k.split("/")[1]: v for k, v in means.items()},
        }
        RESULTS.parent.mkdir(exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
