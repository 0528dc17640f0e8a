"""``medseg demo``: the automatic pipeline on the hippocampus sample embedded in the package.

8 of the 40 sample cases are held out; the other 32 are fingerprinted, planned for this machine with
a wall-clock budget, preprocessed and trained on (fold 0 of 5 for validation during training); the
held-out cases are then predicted in their original image space and scored.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HELD_OUT = 8
#: seconds kept back from the budget for predicting and scoring the held-out cases
PREDICTION_RESERVE_S = 30.0


def run_demo(out: str | Path = "medseg_results/demo", time_budget_s: float = 300.0, workers: int = 2,
             seed: int = 0) -> int:
    """Train on the sample, predict the held-out cases, print Dice per class; returns an exit code."""
    from medseg.data.sample import load_sample
    from medseg.presets.pipeline import analyze, planned_steps, predict_and_evaluate, train_fold

    console = Console()
    start = time.perf_counter()
    out_dir = Path(out)
    dataset = load_sample()
    ids = sorted(dataset.case_ids)
    test_ids = ids[-HELD_OUT:]
    train_val = dataset.subset([i for i in ids if i not in test_ids])
    test = dataset.subset(test_ids)
    console.rule("[bold]medseg demo")
    console.print(f"sample: {len(dataset)} hippocampus MRI cases (MSD Task04, CC-BY-SA 4.0); "
                  f"{len(train_val)} for training/validation, {len(test)} held out")
    plan = analyze(train_val, out_dir, time_budget_s=time_budget_s, workers=workers)
    console.print(f"plan: spacing {plan.target_spacing}, patch {plan.patch_size}, batch {plan.batch_size}, "
                  f"network {plan.network.name} {plan.network.params.get('features_base', '')} base features")
    for reason in plan.reasons:
        console.print(f"  [dim]- {reason}[/]")
    remaining = max(60.0, time_budget_s - (time.perf_counter() - start) - PREDICTION_RESERVE_S)
    steps = planned_steps(plan, remaining, 1500)
    console.print(f"training: about {steps} steps in {remaining:.0f} s")
    _, experiment = train_fold(train_val, plan, out_dir, fold=0, total_steps=steps, workers=workers, seed=seed,
                               time_budget_s=remaining)
    means, csv_path = predict_and_evaluate(test, experiment, out_dir / "predictions" / "held_out")
    table = Table(title=f"held-out Dice ({len(test)} cases)")
    table.add_column("class")
    table.add_column("Dice", justify="right")
    for name, value in means.items():
        table.add_row(name, f"{value:.4f}")
    mean = sum(means.values()) / max(1, len(means))
    table.add_row("[b]mean foreground[/]", f"[b]{mean:.4f}[/]")
    console.print(table)
    console.print(f"experiment folder: {experiment}")
    console.print(f"predictions and per-case metrics: {csv_path.parent}")
    console.print(f"total time: {time.perf_counter() - start:.0f} s")
    return 0
