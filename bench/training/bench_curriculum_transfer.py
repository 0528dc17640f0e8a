"""The 3-stage curriculum and transfer learning on real data, each against plain training at equal steps.

Run: .venv/bin/python bench/training/bench_curriculum_transfer.py [--budget 240] [--only curriculum transfer isbi]

Three comparisons, each the same network, the same number of optimiser steps and the same seed
(steps, not seconds, so the comparison does not depend on the load of the machine):

  curriculum  the embedded 40-case hippocampus sample, 32 cases train / 8 held out (sorted ids);
              the plan is made once for a ``--budget`` seconds run; plain training vs the 3-stage
              curriculum (foreground, rare class, hard-example mining; default shares 0.3/0.3/0.4).
  transfer    fine-tuning from the plain run above (trained on the sample) on a *small subset* of
              Task04 Hippocampus of ../shared/data that shares no case with the sample: 6 cases
              train, 40 other cases held out; from scratch vs ``training.pretrained_weights`` at the
              same plan and steps (a quarter of the source run's steps unless ``--transfer-steps``).
  isbi        cross-task, cross-channel: the DRIVE vessels network of bench/losses/bench_drive_losses.py
              (3-channel RGB; ``--drive-source``, its ``dice_ce`` run) fine-tuned on 4 ISBI 2012
              membrane images (1 channel: the first convolution's RGB kernels averaged), 8 held out;
              the DRIVE run's network and patch size for both.

Held-out cases are predicted with mirror TTA and scored by medseg's evaluator. Records are appended
to ``bench/training/results/curriculum_transfer.jsonl`` and printed.
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
RESULTS = Path(__file__).resolve().parent / "results" / "curriculum_transfer.jsonl"
BASE = {
    "training.seed": 0,
    "training.n_folds": 5,
    "training.val_max_share": 0.1,
    "inference.checkpoint": "latest",
}


def _run(name: str, train_set: Any, test_set: Any, config: Any, work: Path, steps: int) -> Path:
    """Train on ``train_set`` for ``steps`` steps, score ``test_set``; append and print the record."""
    from medseg.config import apply_overrides
    from medseg.presets.pipeline import make_evaluator, predict, train

    per_epoch = config.training.steps_per_epoch
    epochs = max(1, steps // per_epoch)
    config = apply_overrides(config, {"training.epochs": epochs, "training.time_budget_s": None})
    start = time.perf_counter()
    experiment = train(train_set, config, work, fold=0, progress=False)
    seconds = time.perf_counter() - start
    predicted = predict(config, [experiment], test_set, work / "test")
    result = make_evaluator(config, progress=False).evaluate_dataset(test_set, predicted)
    dice = {k.split("/")[0]: round(v, 4) for k, v in result.mean_metrics.items() if k.endswith("/dice")}
    record = {
        "contender": name,
        "train_cases": len(train_set.case_ids),
        "test_cases": len(test_set.case_ids),
        "steps": epochs * per_epoch,
        "train_seconds": round(seconds, 1),
        "patch": config.spatial_config.patch_size,
        "features": (config.model.params or {}).get("features_base"),
        "dice": dice,
        "mean_dice": round(sum(dice.values()) / max(1, len(dice)), 4),
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)
    return experiment


def curriculum(args: argparse.Namespace) -> tuple[Any, Path, int]:
    """Plain vs curriculum on the sample; returns the plan, the plain run's folder and its steps."""
    from medseg.config import Config, apply_overrides
    from medseg.data.sample import load_sample
    from medseg.presets.pipeline import analyze

    sample = load_sample()
    ids = sorted(sample.case_ids)
    train_set, test_set = sample.subset(ids[:32]), sample.subset(ids[32:])
    config = apply_overrides(Config(), {**BASE, "training.time_budget_s": args.budget})
    planned = analyze(train_set, config, args.work / "plan", progress=False)
    steps = args.steps or int(planned.training.planned_steps or 1000)
    if args.features:  # a plan made for a short budget (or under load) is narrow: pin it for a fair pair
        planned = apply_overrides(
            planned, {"model.params": {**(planned.model.params or {}), "features_base": args.features}}
        )
    plain = _run("sample: plain", train_set, test_set, planned, args.work / "plain", steps)
    if "curriculum" in args.only:
        staged = apply_overrides(planned, {"training.curriculum": {}})
        _run("sample: curriculum", train_set, test_set, staged, args.work / "curriculum", steps)
    return planned, plain, steps


def transfer(args: argparse.Namespace, planned: Any, source: Path, source_steps: int) -> None:
    """Scratch vs fine-tuned from the sample run, on 6 Task04 cases that are not in the sample."""
    from medseg.config import apply_overrides
    from medseg.data.datasets.detect import open_dataset
    from medseg.data.sample import load_sample

    task04 = open_dataset(SHARED / "Task04_Hippocampus")
    seen = set(load_sample().case_ids)
    fresh = [c for c in sorted(task04.case_ids) if c not in seen]
    train_set, test_set = task04.subset(fresh[:6]), task04.subset(fresh[6:46])
    steps = args.transfer_steps or max(planned.training.steps_per_epoch, source_steps // 4)
    _run("task04 6 cases: scratch", train_set, test_set, planned, args.work / "scratch", steps)
    tuned = apply_overrides(planned, {"training.pretrained_weights": str(source)})
    _run("task04 6 cases: fine-tuned from the sample", train_set, test_set, tuned, args.work / "tuned", steps)


def isbi(args: argparse.Namespace) -> None:
    """Scratch vs fine-tuned from the DRIVE network on 4 ISBI images (3 -> 1 input channels)."""
    from medseg.config import Config, apply_overrides
    from medseg.data.datasets.detect import open_dataset
    from medseg.inference.predictor import read_plan
    from medseg.presets.pipeline import analyze

    runs = sorted((args.drive_source / "experiments" / "SegmentationTrainer_fold0").iterdir())
    if not runs:
        raise SystemExit(f"{args.drive_source}: no DRIVE run (run bench/losses/bench_drive_losses.py first)")
    source = runs[-1]
    source_plan = read_plan(source / "checkpoints" / "latest.safetensors")
    dataset = open_dataset(SHARED / "ISBI2012_membrane")
    ids = sorted(dataset.case_ids, key=lambda c: int(c) if c.isdigit() else c)
    train_set, test_set = dataset.subset(ids[:4]), dataset.subset(ids[-8:])
    # 4 training images cannot make BASE's 5 folds: 4 folds, one image validates
    config = apply_overrides(Config(), {**BASE, "training.n_folds": 4, "training.time_budget_s": 120.0})
    planned = analyze(train_set, config, args.work / "isbi_plan", progress=False)
    same_net = apply_overrides(
        planned,
        {
            "model.name": source_plan.network.name,
            "model.params": dict(source_plan.network.params),
            "spatial_config.patch_size": list(source_plan.patch_size),
        },
    )
    steps = args.isbi_steps or int(planned.training.planned_steps or 300)
    _run("isbi 4 images: scratch", train_set, test_set, same_net, args.work / "isbi_scratch", steps)
    tuned = apply_overrides(
        same_net, {"training.pretrained_weights": str(source), "training.pretrained_channels": "average"}
    )
    _run("isbi 4 images: fine-tuned from DRIVE", train_set, test_set, tuned, args.work / "isbi_tuned", steps)


def main() -> None:
    """Run the comparisons named by ``--only``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="seconds the sample's plan is made for")
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_curriculum_transfer"))
    parser.add_argument("--drive-source", type=Path, default=Path("/tmp/medseg_drive_losses/dice_ce"))
    parser.add_argument("--only", nargs="*", default=["curriculum", "transfer", "isbi"])
    parser.add_argument("--features", type=int, help="U-Net base features of the sample runs (default: plan)")
    parser.add_argument("--steps", type=int, help="steps of the sample runs (default: the plan's)")
    parser.add_argument("--transfer-steps", type=int, help="steps of the 6-case runs (default: a quarter)")
    parser.add_argument("--isbi-steps", type=int, help="steps of the ISBI runs (default: the plan's)")
    args = parser.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    if "curriculum" in args.only or "transfer" in args.only:
        planned, plain, steps = curriculum(args)
        if "transfer" in args.only:
            transfer(args, planned, plain, steps)
    if "isbi" in args.only:
        isbi(args)


if __name__ == "__main__":
    main()
