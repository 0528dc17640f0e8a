"""Record real validation curves on a GPU (for the score-prediction evaluation) and exercise AMP.

Run on a CUDA machine: PYTHONPATH=src python bench/training/gpu_curves.py --out DIR [--limit 500]

Trains fold 0 of 5 of the embedded 40-case hippocampus sample several times (seeds, optimisers,
widths; bf16 autocast), 50 steps per epoch with whole-case validation after every epoch, and copies
each run's metrics.csv to DIR/<name>_metrics.csv. Runs stop being started once ``--limit`` seconds
have passed. Not a test: CI has no GPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

RUNS = [
    {"name": "sgd_f32_seed0", "seed": 0, "features": 32, "optimizer": "sgd"},
    {"name": "sgd_f32_seed1", "seed": 1, "features": 32, "optimizer": "sgd"},
    {"name": "adamw_f32_seed0", "seed": 0, "features": 32, "optimizer": "adamw"},
    {"name": "sgd_f16_seed2", "seed": 2, "features": 16, "optimizer": "sgd"},
    {"name": "adamw_f16_seed3", "seed": 3, "features": 16, "optimizer": "adamw"},
]


def main() -> None:
    """Train the runs in sequence within the limit; write curves and a summary to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=float, default=500.0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_gpu_curves"))
    args = parser.parse_args()
    assert torch.cuda.is_available(), "needs CUDA"

    from medseg.data import load_sample, plan
    from medseg.data.inspection import inspect
    from medseg.presets.pipeline import default_budget, train_fold

    start = time.perf_counter()
    dataset = load_sample()
    fingerprint = inspect(dataset, workers=4, progress=False)
    base = plan(fingerprint, default_budget(None))
    args.out.mkdir(parents=True, exist_ok=True)
    summary = []
    for run in RUNS:
        if time.perf_counter() - start > args.limit:
            break
        the_plan = base.model_copy(deep=True)
        the_plan.network.params["features_base"] = run["features"]
        work = args.work / run["name"]
        t0 = time.perf_counter()
        _, experiment = train_fold(
            dataset,
            the_plan,
            work,
            fold=0,
            total_steps=args.epochs * 50,
            workers=4,
            seed=int(run["seed"]),
            device="cuda",
            trainer_kwargs={"amp": "bf16", "optimizer": run["optimizer"]},
        )
        shutil.copy(experiment / "metrics.csv", args.out / f"{run['name']}_metrics.csv")
        summary.append({**run, "seconds": round(time.perf_counter() - t0, 1)})
        print(json.dumps(summary[-1]), flush=True)
    (args.out / "summary.json").write_text(
        json.dumps({"plan_patch": base.patch_size, "batch": base.batch_size, "runs": summary}, indent=2),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
