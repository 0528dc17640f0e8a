"""medseg in the peer race: the automatic pipeline (what ``medseg run-all --time-budget`` does) on the split.

Run (the project's venv; race.py does this):

    PYTHONPATH=src .venv/bin/python bench/peers/run_medseg.py --task hippocampus --budget 900 --out RUN

Steps, all inside the budget: ``analyze`` (fingerprint + budget-aware plan for this machine) of the
training cases only -> ``preprocess`` -> ``train`` fold 0 of medseg's default 5-fold split of the
training cases (medseg's default ``training.folds: [0]``, as nnU-Net's fold 0), with the training
budget set to what analysis and preprocessing left of ``--budget``. medseg stops itself at its budget
(its TimeBudget callback), so no watchdog is needed; ``race.py`` still flags a run that overran.
Then the test cases are predicted with the run's checkpoint (``inference.checkpoint``, the defaults:
mirror TTA) into RUN/predictions/ in their source geometry and format. ``--smoke`` changes nothing
here (medseg's budget already shortens everything).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib

#: seconds kept back from the training budget for building the trainer and writing the last checkpoint
SETUP_MARGIN_S = 5.0


def main() -> int:
    """Train medseg on the split's training cases within the budget and predict the test cases."""
    args = peerlib.parser(__doc__).parse_args()
    task = peerlib.load_task(args.task, args.data_root, args.train_cases, args.test_cases)
    peerlib.prepare_out(args.out)
    report = peerlib.Report(
        "medseg",
        peerlib.package_version("medseg"),
        task.name,
        args.budget,
        len(task.train),
        len(task.test),
        args.smoke,
        stopped_by="own budget",
        notes="analyze + preprocess + train fold 0 with --time-budget; mirror TTA",
    )

    def run(report: peerlib.Report) -> None:
        from medseg import __version__
        from medseg.config import Config, apply_overrides
        from medseg.core.errors import MedsegError
        from medseg.data.datasets.detect import open_dataset
        from medseg.presets import pipeline

        report.version = __version__
        start = time.monotonic()
        try:
            full = open_dataset(task.data)
            train_set = full.subset([c.case_id for c in task.train])
            test_set = full.subset([c.case_id for c in task.test])
            work = args.out / "work"
            config = apply_overrides(Config(), {"training.time_budget_s": args.budget})
            config = pipeline.analyze(train_set, config, work, progress=False)
            pipeline.preprocess(train_set, config, work, progress=False)
            report.wall_prep_s = round(time.monotonic() - start, 1)
            left = max(30.0, args.budget - (time.monotonic() - start) - SETUP_MARGIN_S)
            config = apply_overrides(config, {"training.time_budget_s": left})
            experiment = pipeline.train(train_set, config, work, fold=0, progress=False)
            report.wall_train_s = round(time.monotonic() - start - report.wall_prep_s, 1)
            report.epochs, report.steps = _steps(experiment / "metrics.csv", config.training.steps_per_epoch)
            report.checkpoint = f"{config.inference.checkpoint} ({experiment.name})"
            started = time.monotonic()
            pipeline.predict(config, [experiment], test_set, args.out / "predictions")
            report.wall_predict_s = round(time.monotonic() - started, 1)
        except MedsegError as exc:
            raise peerlib.PeerError(str(exc)) from exc

    return peerlib.main_guard(run, report, args.out)


def _steps(metrics_csv: Path, steps_per_epoch: int) -> tuple[int, int]:
    """``(epochs, optimiser steps)`` that the run's metrics.csv records."""
    with metrics_csv.open(encoding="utf-8") as f:
        epochs = sum(1 for _ in csv.DictReader(f))
    return epochs, epochs * steps_per_epoch


if __name__ == "__main__":
    sys.exit(main())
