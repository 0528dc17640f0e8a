"""The automatic pipeline: dataset -> fingerprint -> budget-aware Plan -> preprocessing -> training
-> prediction in the original image space -> evaluation. One function per stage, each usable alone.

Layout of ``work_dir`` (documented in docs/pipeline.md)::

    fingerprint/            cached dataset fingerprint
    plan.json               the Plan
    preprocessed/           memory-mapped cases + properties
    folds.json              case -> fold
    experiments/SegmentationTrainer/<run>/   one experiment folder per fold
    predictions/fold_<k>/   predicted label maps of the fold's validation cases (source geometry)
    evaluation/fold_<k>.csv per-case metrics; cv_summary.json across folds
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from medseg.config.plan import Plan
from medseg.core.errors import ConfigError
from medseg.data.datasets.base import CaseDataset
from medseg.data.planning import Budget
from medseg.presets.segmentation import SegmentationTrainer

#: nnU-Net trains 250 steps per epoch; we keep epochs shorter so that validation, curves and score
#: prediction get enough points on a small CPU budget.
DEFAULT_STEPS_PER_EPOCH = 50
#: Share of the time budget spent in optimiser steps (the rest: validation, loading, checkpoints).
TRAIN_SHARE = 0.8


@dataclass
class FoldResult:
    """What training and evaluating one fold produced."""

    fold: int | Literal["all"]
    experiment: Path
    predictions: Path
    mean_dice: dict[str, float]
    metrics_csv: Path


def default_budget(time_budget_s: float | None) -> Budget:
    """The machine this runs on: CUDA (memory from the device) or CPU (cores, RAM)."""
    if torch.cuda.is_available():
        gb = torch.cuda.get_device_properties(0).total_memory / 1024**3
        return Budget(device="cuda", gpu_memory_gb=gb, time_budget_s=time_budget_s)
    cores = max(1, torch.get_num_threads())
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        mem_gb = 8.0
    return Budget(device="cpu", cpu_cores=cores, cpu_memory_gb=min(mem_gb, 16.0), time_budget_s=time_budget_s)


def analyze(dataset: CaseDataset, work_dir: str | Path, *, time_budget_s: float | None = None,
            workers: int = 2, overrides: Mapping[str, Any] | None = None, progress: bool = True,
            save: bool = True) -> Plan:
    """Fingerprint the dataset and plan for this machine (budget-aware when a time is given).

    ``save=False`` skips writing ``plan.json`` (the config-driven pipeline keeps the Plan in config.json).
    """
    from medseg.data.inspection import inspect
    from medseg.data.planning import plan as make_plan
    from medseg.training.step_timing import step_timer_for

    work = Path(work_dir)
    fingerprint = inspect(dataset, workers=workers, cache_dir=work / "fingerprint", progress=progress)
    budget = default_budget(time_budget_s)
    timer = None
    if time_budget_s is not None:
        spacing = fingerprint.summary.spacing.median
        timer = step_timer_for(len(fingerprint.channel_names), max(fingerprint.labels) + 1 if fingerprint.labels
                               else 2, spacing, device="cuda" if budget.device == "cuda" else "cpu")
    result = make_plan(fingerprint, budget, overrides=overrides, step_timer=timer)
    if save:
        result.save(work / "plan.json")
    return result


def planned_steps(plan: Plan, time_budget_s: float | None, default_steps: int) -> int:
    """Optimiser steps for a run: what fits in ``time_budget_s`` at the Plan's measured step time.

    Without a measured step time (a plan made without a time budget) or without a budget, the
    default is used.
    """
    seconds = plan.training.step_seconds
    if time_budget_s is None or seconds is None:
        return default_steps
    return max(DEFAULT_STEPS_PER_EPOCH, int(time_budget_s * TRAIN_SHARE / seconds))


def train_fold(
    dataset: CaseDataset,
    plan: Plan,
    work_dir: str | Path,
    *,
    fold: int | Literal["all"] = 0,
    n_folds: int = 5,
    total_steps: int = 2500,
    steps_per_epoch: int = DEFAULT_STEPS_PER_EPOCH,
    workers: int = 2,
    deep_supervision: bool = True,
    ema: bool = False,
    seed: int = 0,
    device: str | None = None,
    time_budget_s: float | None = None,
    trainer_kwargs: Mapping[str, Any] | None = None,
    resume_from: str | Path | None = None,
) -> tuple[SegmentationTrainer, Path]:
    """Preprocess (idempotent), then train ``fold`` of ``dataset`` with the Plan's network.

    With ``time_budget_s`` the training (not the preprocessing) is fitted to that wall-clock time;
    ``total_steps`` is then only the first guess (see :meth:`Trainer.train`). ``resume_from`` (an
    experiment folder) continues that run from its latest checkpoint up to ``total_steps``.
    """
    from medseg.data.augmentation import build_augmentation
    from medseg.data.loader import make_loader
    from medseg.data.preprocessing import PreprocessedDataset, preprocess
    from medseg.data.sampling import RandomROIDataset

    work = Path(work_dir)
    preprocess(dataset, plan, work / "preprocessed", workers=workers)  # type: ignore[arg-type]
    folds_file = work / "folds.json"
    if folds_file.exists():
        dataset = dataset.with_folds_file(folds_file)
    else:
        from medseg.data.folds import kfold_assignments, write_folds

        write_folds(folds_file, kfold_assignments(dataset.case_ids, n_folds=n_folds, seed=seed))
        dataset = dataset.with_folds_file(folds_file)
    train_set, val_set = dataset.fold(fold)
    train_cache = PreprocessedDataset(work / "preprocessed", train_set.case_ids)
    val_cache = PreprocessedDataset(work / "preprocessed", val_set.case_ids)
    epochs = max(1, math.ceil(total_steps / steps_per_epoch))
    sampler = RandomROIDataset(train_cache, plan.patch_size, steps_per_epoch * plan.batch_size,
                               foreground_oversampling=plan.foreground_oversampling, seed=seed)
    augmentation = build_augmentation(plan.augmentation or None, len(plan.patch_size))
    loader = make_loader(sampler, plan.batch_size, workers=workers, augmentation=augmentation, seed=seed)
    names = {v: k for k, v in plan.labels.items() if v != 0}
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    trainer = SegmentationTrainer(
        work / "experiments", loader, val_cache, num_classes=plan.num_classes, class_names=names,
        network=plan.network.name, network_params=dict(plan.network.params), spacing=plan.target_spacing,
        deep_supervision=deep_supervision, ema=ema, plan=plan.model_dump(mode="json"), seed=seed, device=dev,
        name=f"SegmentationTrainer_fold{fold}", **dict(trainer_kwargs or {}),
    )
    if resume_from is not None:
        trainer.recover_from(resume_from)
        folder = trainer.continue_training(epochs)
    else:
        folder = trainer.train(epochs, steps_per_epoch=steps_per_epoch, time_budget_s=time_budget_s)
    return trainer, folder.root


def predict_and_evaluate(dataset: CaseDataset, experiment: Path, out_dir: Path, *,
                         checkpoint: str = "latest", mirror_axes: Sequence[int] | None = None,
                         device: str | None = None) -> tuple[dict[str, float], Path]:
    """Predict ``dataset`` with the experiment's checkpoint into ``out_dir`` and evaluate Dice per label."""
    from medseg.evaluation import Evaluator
    from medseg.inference.predictor import Predictor

    predictor = Predictor(experiment, checkpoint=checkpoint, mirror_axes=mirror_axes,
                          device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    predictions = {cid: image.array[0] for cid, image in predictor.predict(dataset, out_dir)}
    regions = {name: value for name, value in predictor.plan.labels.items() if value != 0}
    result = Evaluator("dice", regions=regions, progress=False).evaluate_dataset(dataset, predictions)
    result.to_csv(out_dir / "metrics.csv")
    result.to_json(out_dir / "metrics.json")
    means = {k.split("/")[0]: v for k, v in result.mean_metrics.items()}
    return means, out_dir / "metrics.csv"


def run_fold(dataset: CaseDataset, work_dir: str | Path, *, fold: int | Literal["all"] = 0, n_folds: int = 5,
             time_budget_s: float | None = None, total_steps: int | None = None, workers: int = 2,
             plan_overrides: Mapping[str, Any] | None = None, **train_kwargs: Any) -> FoldResult:
    """Analyse (if needed), train one fold within the budget, predict and evaluate its validation cases."""
    work = Path(work_dir)
    start = time.perf_counter()
    plan_path = work / "plan.json"
    plan = Plan.load(plan_path) if plan_path.exists() and not plan_overrides else analyze(
        dataset, work, time_budget_s=time_budget_s, workers=workers, overrides=plan_overrides)
    remaining = None if time_budget_s is None else max(60.0, time_budget_s - (time.perf_counter() - start))
    steps = total_steps or planned_steps(plan, remaining, 2500)
    if steps < 1:
        raise ConfigError(f"total_steps: {steps} must be at least 1")
    _, experiment = train_fold(dataset, plan, work, fold=fold, n_folds=n_folds, total_steps=steps,
                                     workers=workers, time_budget_s=remaining, **train_kwargs)
    _, val_set = dataset.with_folds_file(work / "folds.json").fold(fold)
    means, csv_path = predict_and_evaluate(val_set, experiment, work / "predictions" / f"fold_{fold}")
    summary = {"fold": fold, "experiment": str(experiment), "mean_dice": means, "steps": steps,
               "seconds": time.perf_counter() - start}
    (work / "evaluation").mkdir(parents=True, exist_ok=True)
    (work / "evaluation" / f"fold_{fold}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return FoldResult(fold, experiment, work / "predictions" / f"fold_{fold}", means, csv_path)


def cross_validate(dataset: CaseDataset, work_dir: str | Path, *, folds: Sequence[int] | None = None,
                   n_folds: int = 5, **kwargs: Any) -> dict[str, Any]:
    """Train and evaluate several folds in sequence; writes ``evaluation/cv_summary.json``."""
    results = [run_fold(dataset, work_dir, fold=k, n_folds=n_folds, **kwargs) for k in (folds or range(n_folds))]
    labels = sorted({name for r in results for name in r.mean_dice})
    summary = {
        "folds": {str(r.fold): r.mean_dice for r in results},
        "mean": {n: sum(r.mean_dice[n] for r in results) / len(results) for n in labels},
    }
    path = Path(work_dir) / "evaluation" / "cv_summary.json"
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
