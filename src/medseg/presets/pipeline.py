"""The one pipeline: dataset -> fingerprint -> Plan -> preprocessing -> training -> prediction in the
original image space -> evaluation. Every stage reads a :class:`~medseg.config.Config` (the CLI and
the Python API are the same functions), and every stage writes into one layout of ``work_dir``::

    config.json                     the effective config, the Plan included (written only by a stage
                                    that succeeded)
    fingerprint/                    cached dataset fingerprint
    preprocessed/                   memory-mapped cases + properties (+ the Plan's preprocessing part)
    folds.json                      case -> fold
    experiments/SegmentationTrainer_fold<k>/<run>/   experiment folder (its own config.json, plan.json
                                    and report.html, written when its training ends)
    predictions/fold_<k>/           label maps of the fold's validation cases (source geometry and format)
    evaluation/fold_<k>.csv         per-case metrics; evaluation/cv_summary.json across folds
    report.html                     the work folder's report (written at the end of run_all)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from medseg.config import Config, apply_overrides, config_to_plan, plan_overrides, plan_to_config, save_config
from medseg.core.atomic import write_text_atomic
from medseg.core.errors import ConfigError, DatasetError
from medseg.data.datasets.base import CaseDataset
from medseg.data.planning import Budget
from medseg.presets.experiments import latest_experiment, run_name, trained_experiments
from medseg.training import distributed
from medseg.training.callback import Callback

CONFIG_NAME = "config.json"
#: epochs run when neither ``training.epochs`` nor a planned number of steps is known
DEFAULT_EPOCHS = 50
#: ``fold: all`` trains on every case; it validates on this many of them (a fixed, seeded subset):
#: enough to follow training and pick the best checkpoint, never all cases every epoch
ALL_FOLD_VALIDATION_CASES = 8

Fold = int | Literal["all"]


@dataclass
class FoldResult:
    """What training and evaluating one fold produced."""

    fold: Fold
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


def open_dataset(config: Config, source: str | Path | None = None) -> CaseDataset:
    """The dataset at ``source`` (or ``dataset_info.source``) in ``dataset_info.format``."""
    from medseg.data.datasets import MSDDataset, NNUNetDataset, TableDataset
    from medseg.data.datasets.detect import open_dataset as detect

    path = source if source is not None else config.dataset_info.source
    if path is None:
        raise ConfigError("config key 'dataset_info.source' is not set; give the dataset folder or table")
    if not Path(path).exists():
        raise DatasetError(f"{path}: dataset not found")
    kind = config.dataset_info.format
    if kind in ("msd", "nnunet") and not Path(path).is_dir():
        raise ConfigError(
            f"{path}: dataset_info.format is {kind!r}, which needs a dataset folder, not a file"
        )
    opener = {"auto": detect, "msd": MSDDataset, "nnunet": NNUNetDataset, "table": TableDataset}
    dataset = opener[config.dataset_info.format](path)
    policy = config.dataset_info.nonfinite
    return dataset.with_nonfinite(policy) if hasattr(dataset, "with_nonfinite") else dataset


def analyze(
    dataset: CaseDataset, config: Config, work_dir: str | Path, *, progress: bool = True, save: bool = True
) -> Config:
    """Fingerprint + plan (keys set in ``config`` win); the completed config is written to ``work_dir``
    (unless ``save`` is off: a larger command saves it when all of it succeeded).

    A dataset that cannot train (a case without a label, only empty labels) is refused here; outlier
    cases (spacing or size far from the median) are warned about on stderr and in the notes.
    """
    from medseg.data.inspection import inspect
    from medseg.data.inspection.problems import dataset_problems
    from medseg.data.planning import plan as make_plan
    from medseg.training.step_timing import step_timer_for

    work = Path(work_dir)
    fingerprint = inspect(
        dataset, workers=config.preprocessing.workers, cache_dir=work / "fingerprint", progress=progress
    )
    problems = dataset_problems(fingerprint, dataset.name)
    problems.raise_errors()
    budget = default_budget(config.training.time_budget_s)
    timer = None
    if budget.time_budget_s is not None:
        from medseg.training.device import resolve_amp

        amp = resolve_amp(config.training.amp, torch.device(budget.device))
        timer = step_timer_for(len(fingerprint.channel_names), device=budget.device, amp=amp)
    plan = make_plan(fingerprint, budget, overrides=plan_overrides(config), step_timer=timer)
    result = plan_to_config(plan, config)
    if problems.warnings:
        from rich.console import Console

        for line in problems.warnings:
            Console(stderr=True, soft_wrap=True).print(f"medseg: warning: {line}", markup=False)
        result = result.model_copy(
            update={"notes": [*result.notes, *(f"warning: {w}" for w in problems.warnings)]}
        )
    if save:
        save_config(result, work / CONFIG_NAME)
    return result


def planned(config: Config) -> bool:
    """Whether the config already holds a complete Plan."""
    try:
        config_to_plan(config)
    except ConfigError:
        return False
    return True


def preprocess(dataset: CaseDataset, config: Config, work_dir: str | Path, *, progress: bool = True) -> Path:
    """Preprocess every case with the config's Plan into ``work_dir/preprocessed`` (idempotent)."""
    from medseg.data.preprocessing import preprocess as run

    out = Path(work_dir) / "preprocessed"
    run(
        dataset,  # type: ignore[arg-type]
        config_to_plan(config),
        out,
        workers=config.preprocessing.workers,
        progress=progress,
    )
    return out


def total_steps(config: Config) -> int:
    """Optimiser steps per fold: ``epochs x steps_per_epoch``, else the planned steps, else 50 epochs."""
    train = config.training
    if train.epochs is not None:
        return train.epochs * train.steps_per_epoch
    return train.planned_steps or DEFAULT_EPOCHS * train.steps_per_epoch


#: a time-budgeted run has at least this many epochs (shorter ones when few steps fit), so that its
#: pace is re-fitted often enough to end on time and validation can be spread out
MIN_BUDGET_EPOCHS = 10


def epoch_length(config: Config) -> int:
    """Steps per epoch: ``training.steps_per_epoch``, shortened for a time-budgeted run whose planned
    steps would make fewer than ``MIN_BUDGET_EPOCHS`` epochs (never below 5 steps)."""
    t = config.training
    if t.time_budget_s is None or t.epochs is not None or not t.planned_steps:
        return t.steps_per_epoch
    return max(5, min(t.steps_per_epoch, t.planned_steps // MIN_BUDGET_EPOCHS))


def fold_split(
    dataset: CaseDataset, config: Config, work_dir: str | Path, fold: Fold
) -> tuple[CaseDataset, CaseDataset]:
    """``(train, validation)`` of ``fold``, following ``work_dir/folds.json`` (written on first use)."""
    from medseg.data.folds import kfold_assignments, write_folds

    folds_file = Path(work_dir) / "folds.json"
    if not folds_file.exists():  # under torchrun, train() has written it on rank 0 before any rank reads
        write_folds(
            folds_file,
            kfold_assignments(dataset.case_ids, n_folds=config.training.n_folds, seed=config.training.seed),
        )
    train_set, val_set = dataset.with_folds_file(folds_file).fold(fold)
    if fold == "all" and len(val_set) > ALL_FOLD_VALIDATION_CASES:
        rng = np.random.default_rng(config.training.seed)
        picked = sorted(rng.choice(len(val_set), ALL_FOLD_VALIDATION_CASES, replace=False).tolist())
        val_set = val_set.subset([val_set.case_ids[i] for i in picked])
    return train_set, val_set


def class_frequencies(cases: Any, plan: Any) -> list[float]:
    """Share of the training voxels per network output (class, or region) from the cached cases."""
    totals = np.zeros(plan.num_classes)
    for i in range(len(cases)):
        for index, count in cases.properties(i).get("class_voxel_counts", {}).items():
            if int(index) < plan.num_classes:
                totals[int(index)] += count
    share = totals / max(totals.sum(), 1.0)
    if plan.regions is not None:
        return [float(share[idx].sum()) for idx in plan.region_indices()]
    if plan.network.activation == "sigmoid":
        return [float(share[1:].sum())]
    return [float(v) for v in share]


def _label_indices(probabilities: dict[int, float] | None, plan: Any) -> dict[int, float] | None:
    """``training.label_probabilities`` (by label value) keyed by training index, as the sampler counts."""
    if probabilities is None:
        return None
    index = {v: i for i, v in enumerate(plan.label_values)}
    return {index[v]: p for v, p in probabilities.items() if v in index}


def _callbacks(config: Config, resume_with_epochs: bool, work_dir: Path) -> list[Any]:
    from medseg.training.callbacks import CpuThreads, Curriculum, EarlyStopping, TimeBudget, ValidationShare

    train = config.training
    out: list[Any] = []
    if train.cpu_threads != "auto":
        out.append(CpuThreads(train.cpu_threads))
    elif not train.deterministic:  # a deterministic run keeps one thread count: resumes stay bit-identical
        out.append(CpuThreads())
    if train.curriculum is not None:
        out.append(Curriculum(**train.curriculum.model_dump()))
    if config.tracking.frontends:
        from medseg.tracking import build_frontends
        from medseg.training.callbacks.tracking import TrackingCallback

        default = config.dataset_info.name if config.dataset_info.name != "dataset" else "medseg"
        out.append(
            TrackingCallback(
                build_frontends(config.tracking, work_dir, default),
                config.model_dump(mode="json"),
                log_checkpoint=config.tracking.log_checkpoint,
                plots_every=config.tracking.plots_every,
            )
        )
    if train.time_budget_s is not None and train.epochs is None and not resume_with_epochs:
        out.append(TimeBudget(train.time_budget_s, train.budget_reserve_validations))
    if train.val_max_share < 1.0:
        out.append(ValidationShare(train.val_max_share))
    if train.early_stopping is not None:
        out.append(EarlyStopping(train.early_stopping))
    return out


def _warn(line: str) -> None:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"medseg: warning: {' '.join(line.split())}", markup=False)


class WorstCaseKeeper(Callback):
    """Keeps the worst case of the last validation, for the visual reports written when training ends."""

    def __init__(self) -> None:
        self.case: Any = None
        self.arrays: dict[str, np.ndarray] = {}
        self.epoch: int | None = None
        self.class_names: dict[int, str] = {}

    def on_validation_end(self, trainer: Any, result: Any) -> None:
        arrays = getattr(result, "worst_arrays", None)
        if arrays and getattr(result, "worst", None) is not None:
            self.case, self.arrays, self.epoch = result.worst, dict(arrays), trainer.epoch_number
            self.class_names = dict(getattr(trainer, "class_names", None) or {})

    def save(self, folder: Path, spacing: Any = None) -> dict[str, Any] | None:
        """Write the montage, scroll and 3-D GIFs of the kept case into ``folder/previews`` (None: no case)."""
        if not self.arrays:
            return None
        from medseg.viz.report_visuals import save_worst_case_visuals

        shift = 1 if 0 in self.class_names else 0  # painted from 1 when regions are numbered from 0
        return save_worst_case_visuals(
            folder / "previews",
            self.arrays["image"],
            self.arrays["label"],
            self.arrays["prediction"],
            class_names={v + shift: n for v, n in self.class_names.items()} or None,
            spacing=spacing,
            case_id=str(self.case.case_id),
            mean_dice=float(self.case.mean),
            epoch=self.epoch,
        )


def write_run_report(
    folder: Path,
    kind: Literal["experiment", "work"],
    worst: WorstCaseKeeper | None = None,
    spacing: Any = None,
) -> Path | None:
    """``folder/report.html`` (after the worst case's visuals, given ``worst``), on rank 0 only.

    A training that finished is not failed by its report: each failure is one warning line on stderr
    and None is returned.
    """
    if not distributed.is_main():
        return None
    if worst is not None:
        try:
            worst.save(folder, spacing)
        except Exception as exc:
            _warn(f"{folder / 'previews'}: worst-case visuals not written ({type(exc).__name__}: {exc})")
    try:
        from medseg.viz.report import write_report

        return write_report(folder, kind=kind)
    except Exception as exc:
        _warn(f"{folder / 'report.html'}: {kind} report not written ({type(exc).__name__}: {exc})")
        return None


def train(
    dataset: CaseDataset,
    config: Config,
    work_dir: str | Path,
    *,
    fold: Fold = 0,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Train ``fold`` as the config says (preprocessing first, idempotent); returns the experiment folder.

    When training ends, the experiment's report (``report.html``, with the worst validation case's
    montage, scroll and 3-D GIFs in ``previews/``) is written; a failure to write it is a warning.

    ``resume`` continues the fold's latest run; with ``training.epochs`` set to a new length the run
    is extended (or shortened) and its learning-rate schedule stretched to match.
    """
    from medseg.data.augmentation import build_augmentation
    from medseg.data.loader import make_loader
    from medseg.data.preprocessing import PreprocessedDataset
    from medseg.data.sampling import RandomROIDataset
    from medseg.presets.segmentation import SegmentationTrainer

    work = Path(work_dir)
    run = latest_experiment(work, fold) if resume else None  # before any work: nothing to resume, no cache
    if not planned(config):
        config = distributed.broadcast(
            analyze(dataset, config, work, progress=progress, save=False) if distributed.is_main() else None
        )
    plan = config_to_plan(config)
    if run is not None:  # a changed network or plan is refused before anything is written
        from medseg.inference.predictor import check_same_plan, read_plan

        latest = run / "checkpoints" / "latest.safetensors"
        check_same_plan(latest, read_plan(latest), work / CONFIG_NAME, plan)
    cache = Path(work) / "preprocessed"
    if distributed.is_main():  # one rank preprocesses and writes the folds, the others wait for them
        preprocess(dataset, config, work, progress=progress)
        fold_split(dataset, config, work, fold)
    distributed.barrier()
    train_set, val_set = fold_split(dataset, config, work, fold)
    rank_seed = config.training.seed + 1000 * distributed.rank()  # each rank samples its own patches
    t = config.training
    steps_per_epoch = epoch_length(config)
    epochs = max(1, math.ceil(total_steps(config) / steps_per_epoch))
    train_cases = PreprocessedDataset(cache, train_set.case_ids)
    sampler = RandomROIDataset(
        train_cases,
        plan.patch_size,
        steps_per_epoch * plan.batch_size,
        foreground_oversampling=plan.foreground_oversampling,
        label_probabilities=_label_indices(t.label_probabilities, plan),
        rare_class_oversampling=t.rare_class_oversampling,
        seed=rank_seed,
    )
    augmentation = build_augmentation(plan.augmentation or None, plan.spatial_dims)
    loader = make_loader(
        sampler, plan.batch_size, workers=t.workers, augmentation=augmentation, seed=rank_seed
    )
    worst = WorstCaseKeeper()
    trainer = SegmentationTrainer(
        work / "experiments",
        loader,
        PreprocessedDataset(cache, val_set.case_ids),
        plan=plan,
        training=t,
        callbacks=[*_callbacks(config, resume and t.epochs is not None, work), worst],
        name=run_name(fold),
        class_frequencies=class_frequencies(train_cases, plan),
    )
    if run is not None:
        trainer.recover_from(run)
        folder = trainer.continue_training(epochs if t.epochs is not None else None)
    else:
        folder = trainer.train(epochs, steps_per_epoch=steps_per_epoch)
    if distributed.is_main():
        save_config(config, folder.root / CONFIG_NAME)
        write_run_report(folder.root, "experiment", worst, plan.target_spacing)
    distributed.barrier()
    return folder.root


def lr_find(
    dataset: CaseDataset,
    config: Config,
    work_dir: str | Path,
    *,
    fold: Fold = 0,
    steps: int = 100,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    progress: bool = True,
) -> Any:
    """The learning-rate range test on ``fold``'s training patches; writes ``work_dir/lr_find/``.

    Returns the :class:`~medseg.training.lr_finder.LRFinderResult` (``suggestion``: the learning rate
    to pass as ``training.lr``). The weights it trains are thrown away.
    """
    from medseg.data.augmentation import build_augmentation
    from medseg.data.loader import make_loader
    from medseg.data.preprocessing import PreprocessedDataset
    from medseg.data.sampling import RandomROIDataset
    from medseg.presets.segmentation import SegmentationTrainer
    from medseg.training.lr_finder import endless, lr_range_test, trainer_step

    work = Path(work_dir)
    if not planned(config):
        config = analyze(dataset, config, work, progress=progress, save=False)
    plan = config_to_plan(config)
    cache = preprocess(dataset, config, work, progress=progress)
    train_set, _ = fold_split(dataset, config, work, fold)
    t = config.training
    sampler = RandomROIDataset(
        PreprocessedDataset(cache, train_set.case_ids),
        plan.patch_size,
        t.steps_per_epoch * plan.batch_size,
        foreground_oversampling=plan.foreground_oversampling,
        seed=t.seed,
    )
    loader = make_loader(
        sampler,
        plan.batch_size,
        workers=t.workers,
        augmentation=build_augmentation(plan.augmentation or None, plan.spatial_dims),
        seed=t.seed,
    )
    trainer = SegmentationTrainer(work / "lr_find", loader, None, plan=plan, training=t, transparency=False)
    trainer.steps_per_epoch, trainer.num_epochs = t.steps_per_epoch, 1
    trainer.toolbox = trainer.build_toolbox((len(plan.channel_names), *plan.patch_size), steps)
    result = lr_range_test(
        trainer_step(trainer), endless(loader, sampler), start_lr=start_lr, end_lr=end_lr, steps=steps
    )
    result.to_csv(work / "lr_find" / "lr_find.csv")
    result.plot(work / "lr_find" / "lr_find.png")
    return result


def make_predictor(config: Config, sources: list[Path]) -> Any:
    """A :class:`~medseg.inference.predictor.Predictor` with the config's inference settings."""
    from medseg.inference.predictor import Predictor
    from medseg.training.device import resolve_device

    inf = config.inference
    mirror = inf.mirror_axes if inf.tta else ()
    return Predictor(
        sources,
        checkpoint=inf.checkpoint,
        device=resolve_device(config.training.device),
        mirror_axes=mirror,
        overlap=inf.overlap,
        window_batch_size=inf.window_batch_size,
        blend=inf.blend,
        nonfinite=config.dataset_info.nonfinite,
    )


def predict(
    config: Config,
    sources: list[Path],
    predictant: Any,
    out_dir: str | Path,
    *,
    shard: tuple[int, int] | None = None,
    predictor: Any = None,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Predict into ``out_dir`` (source geometry and file format), with ``inference.postprocessing``.

    Under torchrun each rank predicts its share of the cases (``shard`` = (rank, ranks) by default;
    ``(0, 1)`` predicts them all). ``predictor``: one made by :func:`make_predictor` (e.g. to report its
    checkpoint choices first). ``progress``: name the checkpoint files used and show a per-case bar.
    """
    from medseg.inference.postprocessing_strategy import PostprocessingStrategy
    from medseg.io.image import Image
    from medseg.io.naming import output_path
    from medseg.io.readers import write_image

    predictor = predictor if predictor is not None else make_predictor(config, sources)
    strategy = (
        PostprocessingStrategy.load(config.inference.postprocessing)
        if config.inference.postprocessing
        else None
    )
    labels: dict[str, np.ndarray] = {}
    shard = shard or (distributed.rank(), distributed.world_size())
    with _case_progress(progress, predictor.checkpoint_paths, predictant) as advance:
        for case_id, image in predictor.predict(predictant, shard=shard):
            array = image.array
            if strategy is not None:
                array = strategy.apply(array[0], image.geometry.array_spacing)[None]
            target = output_path(out_dir, case_id, image.meta.get("source"), config.inference.output_format)
            write_image(Image(array, image.geometry, image.meta), target)
            labels[case_id] = array[0]
            advance(case_id)
    return labels


@contextlib.contextmanager
def _case_progress(
    enabled: bool, checkpoints: list[Path], predictant: Any
) -> Iterator[Callable[[str], None]]:
    """A per-case bar naming the model (``experiment/checkpoint file``) on interactive terminals, none
    for no cases; yields ``advance(case_id)``. (The ``predict`` verb prints the checkpoint each
    experiment contributed.)"""
    if not enabled:
        yield lambda case_id: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    names = [
        f"{c.parent.parent.name}/{c.name}" if c.parent.name == "checkpoints" else c.name for c in checkpoints
    ]
    total = (
        len(predictant) if hasattr(predictant, "__len__") and not isinstance(predictant, str | Path) else None
    )
    label = names[0] if len(names) == 1 else f"{len(names)}-model ensemble"
    with Progress(
        TextColumn(f"predicting ({label})"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal or total == 0,  # nothing to predict: no empty 0/0 bar
    ) as bar:
        task = bar.add_task("", total=total)
        yield lambda case_id: bar.update(task, advance=1, description=case_id)


def make_evaluator(config: Config, progress: bool = True) -> Any:
    """An :class:`~medseg.evaluation.Evaluator` for the config's metrics and regions.

    Regions default to the Plan's regions, else one per foreground label (by the data's values).
    """
    from medseg.evaluation import Evaluator

    regions: dict[str, list[int]] | None = config.evaluation.regions
    if regions is None and config.dataset_info.regions:
        regions = {r.name: list(r.labels) for r in config.dataset_info.regions}
    if regions is None:
        regions = {n: [v] for n, v in (config.dataset_info.labels or {}).items() if v != 0} or None
    return Evaluator(
        *config.evaluation.metrics, regions=regions, workers=config.evaluation.workers, progress=progress
    )


def run_all(
    dataset: CaseDataset, config: Config, work_dir: str | Path, *, progress: bool = True
) -> dict[str, Any]:
    """analyze (if the Plan is incomplete) -> preprocess -> per fold: train, predict, evaluate -> CV summary
    -> the work folder's report (``report.html``; a failure to write it is a warning)."""
    work = Path(work_dir)
    if not planned(config):
        config = analyze(dataset, config, work, progress=progress, save=False)
    folds: list[Fold] = ["all"] if config.training.folds == "all" else list(config.training.folds)
    summary: dict[str, Any] = {"folds": {}}
    for fold in folds:
        experiment = train(dataset, config, work, fold=fold, progress=progress)
        if not distributed.is_main():  # under torchrun, rank 0 predicts and evaluates
            continue
        _, val_set = fold_split(dataset, config, work, fold)
        predicted = predict(
            config,
            [experiment],
            val_set,
            work / "predictions" / f"fold_{fold}",
            shard=(0, 1),
            progress=progress,
        )
        result = make_evaluator(config, progress=progress).evaluate_dataset(val_set, predicted)
        result.to_csv(work / "evaluation" / f"fold_{fold}.csv")
        summary["folds"][str(fold)] = {"experiment": str(experiment), "mean": result.mean_metrics}
    keys = sorted({k for f in summary["folds"].values() for k in f["mean"]})
    summary["mean"] = {
        k: float(np.nanmean([f["mean"].get(k, np.nan) for f in summary["folds"].values()])) for k in keys
    }
    if distributed.is_main():
        write_text_atomic(work / "evaluation" / "cv_summary.json", json.dumps(summary, indent=2))
        save_config(config, work / CONFIG_NAME)
        write_run_report(work, "work")
    distributed.barrier()
    return summary


def run_fold(
    dataset: CaseDataset,
    work_dir: str | Path,
    *,
    fold: Fold = 0,
    time_budget_s: float | None = None,
    config: Config | None = None,
    progress: bool = True,
) -> FoldResult:
    """Analyse (if needed), train one fold within the budget, predict and evaluate its validation cases.

    ``time_budget_s`` is the whole call's wall-clock budget: analysis and preprocessing run first
    and come out of it; the training loop gets the rest less ``FOLD_OVERHEAD_S``, and keeps back
    the time to predict the validation cases, measured from its own validations
    (:func:`prediction_reserve`), so the whole call ends near the budget on a quiet or a busy machine.
    """
    work = Path(work_dir)
    start = time.perf_counter()
    config = config or Config()
    if time_budget_s is not None:
        config = apply_overrides(config, {"training.time_budget_s": time_budget_s})
    if not planned(config):
        config = analyze(dataset, config, work, progress=progress)
    if time_budget_s is not None:
        preprocess(dataset, config, work, progress=progress)  # idempotent: train() finds the cache
        left = loop_budget(time_budget_s, start, FOLD_OVERHEAD_S)
        config = apply_overrides(
            config,
            {
                "training.time_budget_s": left,
                "training.budget_reserve_validations": prediction_reserve(config),
            },
        )
    experiment = train(dataset, config, work, fold=fold, progress=progress)
    _, val_set = fold_split(dataset, config, work, fold)
    out = work / "predictions" / f"fold_{fold}"
    predicted = predict(config, [experiment], val_set, out)
    result = make_evaluator(config, progress=progress).evaluate_dataset(val_set, predicted)
    csv_path = result.to_csv(work / "evaluation" / f"fold_{fold}.csv")
    means = {k.split("/")[0]: v for k, v in result.mean_metrics.items() if k.endswith("/dice")}
    save_config(config, work / CONFIG_NAME)
    return FoldResult(fold, experiment, out, means, Path(csv_path))


#: seconds of a whole-call budget kept for the work the training loop's budget does not see: the
#: trainer's set-up before the loop and, after it, the report, scoring and the metrics file. Measured
#: 2026-12-03, Task04 fold 1 on the 2-core CPU: report 1.5 s, scoring 0.3 s; the rest is margin.
FOLD_OVERHEAD_S = 10.0
#: the least training-loop budget a whole-call budget leaves (a shorter loop cannot train one epoch)
MIN_LOOP_BUDGET_S = 60.0


def loop_budget(time_budget_s: float, start: float, overhead_s: float) -> float:
    """The training loop's share of a whole-call budget that began at ``start`` (``time.perf_counter``).

    The one rule for every caller that plans, preprocesses and then trains within one budget
    (``run_fold``, ``medseg demo``): what is left now, less ``overhead_s`` for the work outside the
    loop (set-up before it; report, predicting and scoring after it, where the caller has not
    reserved those in validation times), and never under ``MIN_LOOP_BUDGET_S``. A fixed overhead,
    not a share: the work outside the loop does not grow with the budget.
    """
    return max(MIN_LOOP_BUDGET_S, time_budget_s - (time.perf_counter() - start) - overhead_s)


#: margin on the prediction reserve. One sliding-window pass per mirror subset is already an upper
#: bound: 42 cases predicted with 8 passes took 6.6 validation times (25 s, 360 s budget) and 7.3
#: (47 s, 60-minute budget), resampling and writing included (the predictor batches windows).
PREDICTION_MARGIN = 1.0


def prediction_reserve(config: Config, cases_ratio: float = 1.0) -> float:
    """Predicting as a multiple of one trainer validation (``training.budget_reserve_validations``).

    The trainer validates without TTA; the predictor runs one sliding-window pass per mirror subset
    (``inference.tta``/``mirror_axes``), so the reserve is that many passes times ``PREDICTION_MARGIN``,
    times ``cases_ratio`` = cases predicted / cases validated (1 when the validation cases are the
    ones predicted, as in :func:`run_fold`).
    """
    from medseg.core.mirror import mirror_axes_for, mirror_subsets

    inf = config.inference
    dims = len(config_to_plan(config).patch_size)
    axes = mirror_axes_for(inf.mirror_axes, dims) if inf.tta else ()
    return len(mirror_subsets(axes)) * PREDICTION_MARGIN * cases_ratio


__all__ = [
    "FoldResult",
    "analyze",
    "make_evaluator",
    "make_predictor",
    "open_dataset",
    "predict",
    "prediction_reserve",
    "preprocess",
    "run_all",
    "run_fold",
    "total_steps",
    "train",
    "trained_experiments",
    "write_run_report",
]
