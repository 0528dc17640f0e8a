"""The config-driven pipeline behind the ``medseg`` command: every stage reads a :class:`Config`.

Results layout of ``work_dir`` (docs/cli.md)::

    config.json                     the effective config (Plan facts included), rewritten by each stage
    fingerprint/                    cached dataset fingerprint
    preprocessed/                   memory-mapped cases + properties
    folds.json                      case -> fold
    experiments/SegmentationTrainer_fold<k>/<run>/   experiment folder (its own config.json too)
    predictions/fold_<k>/           label maps of the fold's validation cases (source geometry)
    evaluation/fold_<k>.csv         per-case metrics; cv_summary.json across folds
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from medseg.config import Config, config_to_plan, plan_overrides, plan_to_config, save_config
from medseg.core.errors import ConfigError, DatasetError
from medseg.data.datasets.base import CaseDataset

CONFIG_NAME = "config.json"
#: epochs run when neither ``training.epochs`` nor a planned number of steps is known
DEFAULT_EPOCHS = 50


def open_dataset(config: Config, source: str | Path | None = None) -> CaseDataset:
    """The dataset at ``source`` (or ``dataset_info.source``) in ``dataset_info.format``."""
    from medseg.data.datasets import MSDDataset, NNUNetDataset, TableDataset
    from medseg.data.datasets.detect import open_dataset as detect

    path = source if source is not None else config.dataset_info.source
    if path is None:
        raise ConfigError("config key 'dataset_info.source' is not set; give the dataset folder or table")
    kind = config.dataset_info.format
    opener = {"auto": detect, "msd": MSDDataset, "nnunet": NNUNetDataset,
              "table": TableDataset}[kind]
    if not Path(path).exists():
        raise DatasetError(f"{path}: dataset not found")
    return opener(path)


def device_of(config: Config) -> str:
    """The device named by ``training.device`` (``auto``: CUDA when available)."""
    if config.training.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.training.device


def analyze_config(dataset: CaseDataset, config: Config, work_dir: str | Path, *, progress: bool = True) -> Config:
    """Fingerprint + plan (keys set in ``config`` win) and write the completed config to ``work_dir``."""
    from medseg.presets.pipeline import analyze

    plan = analyze(dataset, work_dir, time_budget_s=config.training.time_budget_s,
                   workers=config.preprocessing.workers, overrides=plan_overrides(config), progress=progress,
                   save=False)
    result = plan_to_config(plan, config)
    save_config(result, Path(work_dir) / CONFIG_NAME)
    return result


def preprocess_config(dataset: CaseDataset, config: Config, work_dir: str | Path, *, progress: bool = True) -> Path:
    """Preprocess every case with the config's Plan into ``work_dir/preprocessed``."""
    from medseg.data.preprocessing import preprocess

    out = Path(work_dir) / "preprocessed"
    preprocess(dataset, config_to_plan(config), out, workers=config.preprocessing.workers,  # type: ignore[arg-type]
               progress=progress)
    return out


def total_steps(config: Config) -> int:
    """Optimiser steps per fold: ``epochs x steps_per_epoch``, else the planned steps, else 50 epochs."""
    train = config.training
    if train.epochs is not None:
        return train.epochs * train.steps_per_epoch
    return train.planned_steps or DEFAULT_EPOCHS * train.steps_per_epoch


def latest_experiment(work_dir: str | Path, fold: int | Literal["all"]) -> Path:
    """The newest experiment folder of ``fold`` under ``work_dir/experiments``."""
    runs = sorted((Path(work_dir) / "experiments" / f"SegmentationTrainer_fold{fold}").glob("*/"))
    if not runs:
        raise ConfigError(f"{work_dir}: no experiment folder for fold {fold}; run `medseg train` first")
    return runs[-1]


def trained_experiments(config: Config, work_dir: str | Path, folds: list[str] | None = None) -> list[Path]:
    """The newest experiment of each fold in ``folds`` (default ``inference.ensemble_folds``; ``all``: every
    trained fold)."""
    chosen: list[str] | str = folds or (config.inference.ensemble_folds if config.inference.ensemble_folds == "all"
                                        else [str(k) for k in config.inference.ensemble_folds])
    if chosen == "all":
        chosen = sorted(p.name.removeprefix("SegmentationTrainer_fold")
                        for p in (Path(work_dir) / "experiments").glob("SegmentationTrainer_fold*"))
    if not chosen:
        raise ConfigError(f"{work_dir}: no trained fold under experiments/; run `medseg train` first")
    return [latest_experiment(work_dir, "all" if f == "all" else int(f)) for f in chosen]


def train_config(dataset: CaseDataset, config: Config, work_dir: str | Path, *, fold: int | Literal["all"] = 0,
                 resume: bool = False) -> Path:
    """Train one fold as the config says (preprocessing first, idempotent); returns the experiment folder."""
    from medseg.presets.pipeline import train_fold

    train = config.training
    steps = total_steps(config)
    epochs = max(1, math.ceil(steps / train.steps_per_epoch))
    kwargs: dict[str, Any] = {
        "optimizer": train.optimizer, "lr": train.lr, "weight_decay": train.weight_decay,
        "lr_scheduler": train.lr_scheduler, "warmup_steps": train.warmup_epochs * train.steps_per_epoch,
        "grad_clip": train.grad_clip, "amp": train.amp, "ema_decay": train.ema_decay, "score": train.score,
        "region_based": train.region_based, "val_overlap": config.inference.overlap,
    }
    resume_from = latest_experiment(work_dir, fold) if resume else None
    _, experiment = train_fold(
        dataset, config_to_plan(config), work_dir, fold=fold, n_folds=train.n_folds, total_steps=epochs *
        train.steps_per_epoch, steps_per_epoch=train.steps_per_epoch, workers=train.workers,
        deep_supervision=config.model.deep_supervision, ema=train.ema, seed=train.seed, device=device_of(config),
        trainer_kwargs=kwargs, resume_from=resume_from,
    )
    save_config(config, experiment / CONFIG_NAME)
    return experiment


def make_predictor(config: Config, sources: list[Path]) -> Any:
    """A :class:`~medseg.inference.predictor.Predictor` with the config's inference settings."""
    from medseg.inference.predictor import Predictor

    inf = config.inference
    mirror = (inf.mirror_axes if inf.mirror_axes is not None else None) if inf.tta else ()
    return Predictor(sources, checkpoint=inf.checkpoint, device=device_of(config), mirror_axes=mirror,
                     overlap=inf.overlap, window_batch_size=inf.window_batch_size, blend=inf.blend)


def predict_config(config: Config, sources: list[Path], predictant: Any, out_dir: str | Path) -> dict[str, np.ndarray]:
    """Predict into ``out_dir`` (source geometry), applying ``inference.postprocessing`` when set."""
    from medseg.inference.postprocessing_strategy import PostprocessingStrategy
    from medseg.io.image import Image
    from medseg.io.readers import write_image

    predictor = make_predictor(config, sources)
    strategy = (PostprocessingStrategy.load(config.inference.postprocessing)
                if config.inference.postprocessing else None)
    out = Path(out_dir)
    labels: dict[str, np.ndarray] = {}
    for case_id, image in predictor.predict(predictant):
        array = image.array
        if strategy is not None:
            array = strategy.apply(array[0], image.geometry.array_spacing)[None]
        write_image(Image(array, image.geometry, image.meta), out / f"{case_id}.nii.gz")
        labels[case_id] = array[0]
    return labels


def make_evaluator(config: Config, labels: dict[str, int] | None = None, progress: bool = True) -> Any:
    """An :class:`~medseg.evaluation.Evaluator` for the config's metrics and regions."""
    from medseg.evaluation import Evaluator

    regions: dict[str, list[int]] | None = config.evaluation.regions
    if regions is None:
        named = labels if labels is not None else config.dataset_info.labels
        regions = {n: [v] for n, v in (named or {}).items() if v != 0} or None
    return Evaluator(*config.evaluation.metrics, regions=regions, workers=config.evaluation.workers,
                     progress=progress)


def run_all(dataset: CaseDataset, config: Config, work_dir: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """analyze (if the Plan is incomplete) -> preprocess -> per fold: train, predict, evaluate -> CV summary."""
    work = Path(work_dir)
    try:
        config_to_plan(config)
    except ConfigError:
        config = analyze_config(dataset, config, work, progress=progress)
    save_config(config, work / CONFIG_NAME)
    preprocess_config(dataset, config, work, progress=progress)
    folds: list[int | Literal["all"]] = ["all"] if config.training.folds == "all" else list(config.training.folds)
    summary: dict[str, Any] = {"folds": {}}
    for fold in folds:
        experiment = train_config(dataset, config, work, fold=fold)
        _, val_set = dataset.with_folds_file(work / "folds.json").fold(fold)
        predicted = predict_config(config, [experiment], val_set, work / "predictions" / f"fold_{fold}")
        result = make_evaluator(config, progress=progress).evaluate_dataset(val_set, predicted)
        (work / "evaluation").mkdir(parents=True, exist_ok=True)
        result.to_csv(work / "evaluation" / f"fold_{fold}.csv")
        summary["folds"][str(fold)] = {"experiment": str(experiment), "mean": result.mean_metrics}
    keys = sorted({k for f in summary["folds"].values() for k in f["mean"]})
    summary["mean"] = {k: float(np.nanmean([f["mean"].get(k, np.nan) for f in summary["folds"].values()]))
                       for k in keys}
    (work / "evaluation" / "cv_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
