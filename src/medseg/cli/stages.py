"""Verbs of the training pipeline: analyze, preprocess, train, run-all (thin: see presets.pipeline).

WORK/config.json is written only by a verb that succeeded, so a failed command leaves nothing that
later commands would inherit.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from medseg.cli.help_text import plain
from medseg.cli.options import (
    add_config_options,
    add_inference_flags,
    add_plan_flags,
    add_tracking_flags,
    add_train_flags,
    effective_config,
)
from medseg.config import Config, apply_overrides, load_config, save_config
from medseg.core.errors import ConfigError


def _with_workers(config: Config, args: argparse.Namespace, *keys: str) -> Config:
    if getattr(args, "workers", None) is None:
        return config
    return apply_overrides(config, {k: args.workers for k in keys}, source="command line")


def _dataset(config: Config, args: argparse.Namespace) -> Any:
    from medseg.presets.pipeline import open_dataset

    return open_dataset(config, getattr(args, "data", None))


def _with_source(config: Config, args: argparse.Namespace) -> Config:
    data = getattr(args, "data", None)
    if data is None:
        return config
    return apply_overrides(config, {"dataset_info.source": str(Path(data).resolve())}, source="command line")


def analyze(args: argparse.Namespace) -> int:
    """``medseg analyze DATA -o WORK``: fingerprint + plan -> WORK/config.json."""
    from medseg.presets.pipeline import analyze as run

    config = _with_workers(_with_source(effective_config(args), args), args, "preprocessing.workers")
    result = run(_dataset(config, args), config, args.out)
    console = Console()
    console.print(
        f"patch {result.spatial_config.patch_size}, batch {result.training.batch_size}, spacing "
        f"{result.spatial_config.target_spacing}, network {result.model.name}"
    )
    for note in result.notes:
        console.print(f"  [dim]- {note}[/]")
    console.print(f"config written to {Path(args.out) / 'config.json'}")
    return 0


def preprocess(args: argparse.Namespace) -> int:
    """``medseg preprocess -o WORK``: crop, resample and normalise every case into WORK/preprocessed."""
    from medseg.presets.pipeline import preprocess as run

    config = _with_workers(
        _with_source(effective_config(args, args.out), args), args, "preprocessing.workers"
    )
    out = run(_dataset(config, args), config, args.out)
    save_config(config, Path(args.out) / "config.json")
    Console().print(f"preprocessed cases in {out}")
    return 0


def train(args: argparse.Namespace) -> int:
    """``medseg train -o WORK --fold K``: train one fold (or ``all`` cases, or every configured fold);
    each experiment folder gets its ``report.html`` when its training ends."""
    from medseg.presets.pipeline import train as run
    from medseg.training import distributed

    config = _with_workers(
        _with_source(effective_config(args, args.out), args), args, "preprocessing.workers"
    )
    if args.fold == "configured":
        folds: list[Any] = ["all"] if config.training.folds == "all" else list(config.training.folds)
    elif args.fold == "all" or args.fold.isdigit():
        folds = ["all" if args.fold == "all" else int(args.fold)]
    else:
        raise ConfigError(
            f"command line: --fold {args.fold!r} is invalid; valid choices: a fold number, 'all' or "
            "'configured'"
        )
    dataset = _dataset(config, args)
    experiment = None
    for fold in folds:
        experiment = run(dataset, config, args.out, fold=fold, resume=args.resume)
        if distributed.is_main():  # under torchrun every rank gets here: one line, not one per rank
            Console().print(f"fold {fold}: experiment folder {experiment}")
            _print_report(experiment / "report.html")
    if (
        experiment is not None and distributed.is_main()
    ):  # the config as trained (re-planned for a new network)
        save_config(load_config(experiment / "config.json"), Path(args.out) / "config.json")
    return 0


def run_all(args: argparse.Namespace) -> int:
    """``medseg run-all DATA -o WORK``: analyze, preprocess, train, predict and evaluate every fold,
    then write WORK/report.html (and each experiment's report)."""
    from medseg.presets.pipeline import run_all as run_pipeline
    from medseg.training import distributed

    config = _with_workers(
        _with_source(effective_config(args, args.out), args),
        args,
        "preprocessing.workers",
        "evaluation.workers",
    )
    summary = run_pipeline(_dataset(config, args), config, args.out)
    if distributed.is_main():
        console = Console()
        console.print(summary_table(summary))
        console.print(f"cross-validation summary: {Path(args.out) / 'evaluation' / 'cv_summary.json'}")
        _print_report(Path(args.out) / "report.html")
    return 0


def _print_report(report: Path) -> None:
    if report.is_file():  # one line, however long the path: it is copied into a browser
        Console(soft_wrap=True).print(f"report: {report}", markup=False, highlight=False)


def lr_find(args: argparse.Namespace) -> int:
    """``medseg lr-find -o WORK``: the learning-rate range test; plots loss against learning rate and
    suggests one."""
    from medseg.presets.pipeline import lr_find as run

    config = _with_source(effective_config(args, args.out), args)
    result = run(
        _dataset(config, args), config, args.out, steps=args.steps, start_lr=args.start_lr, end_lr=args.end_lr
    )
    folder = Path(args.out) / "lr_find"
    Console().print(
        f"suggested learning rate {result.suggestion:.3g} (train with --lr {result.suggestion:.3g}); "
        f"curve: {folder / 'lr_find.png'}, values: {folder / 'lr_find.csv'}"
    )
    return 0


def summary_table(summary: dict[str, Any]) -> Table:
    """run-all's result as a table: one row per metric, one column per fold, then the mean."""
    folds = summary["folds"]
    table = Table(title="cross-validation", caption="mean over the validation cases of each fold")
    table.add_column("metric")
    for fold in folds:
        table.add_column(f"fold {fold}", justify="right")
    if len(folds) > 1:
        table.add_column("mean", justify="right")
    for key, mean in summary["mean"].items():
        cells = [_cell(folds[f]["mean"].get(key)) for f in folds]
        table.add_row(key, *cells, *([f"[b]{_cell(mean)}[/]"] if len(folds) > 1 else []))
    return table


def _cell(value: Any) -> str:
    return "-" if value is None or value != value else f"{value:.4f}"


def register(sub: Any) -> None:
    """Add the pipeline verbs to the sub-command parser ``sub``."""
    p = sub.add_parser(
        "analyze", help="fingerprint + plan a dataset -> WORK/config.json", description=plain(analyze.__doc__)
    )
    p.add_argument("data", type=Path, help="dataset folder (MSD or nnU-Net raw) or CSV table")
    p.add_argument("-o", "--out", type=Path, required=True, help="work folder")
    p.add_argument("--workers", type=int, help="cases analysed in parallel")
    add_config_options(p)
    add_plan_flags(p)
    p.set_defaults(func=analyze)

    p = sub.add_parser(
        "preprocess",
        help="preprocess every case with the config's plan",
        description=plain(preprocess.__doc__),
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="work folder (holds config.json)")
    p.add_argument("--data", type=Path, help="dataset (default: dataset_info.source)")
    p.add_argument("--workers", type=int, help="cases preprocessed in parallel")
    add_config_options(p)
    p.set_defaults(func=preprocess)

    p = sub.add_parser(
        "train", help="train one fold, all cases, or the configured folds", description=plain(train.__doc__)
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="work folder (holds config.json)")
    p.add_argument("--data", type=Path, help="dataset (default: dataset_info.source)")
    p.add_argument("--fold", default="configured", help="a fold number, 'all' (every case), or 'configured'")
    p.add_argument("--resume", action="store_true", help="continue the fold's latest experiment folder")
    p.add_argument("--workers", type=int, help="cases preprocessed in parallel (when the cache is missing)")
    add_config_options(p)
    add_plan_flags(p)
    add_train_flags(p)
    add_tracking_flags(p)
    p.set_defaults(func=train)

    p = sub.add_parser(
        "lr-find",
        help="learning-rate range test: loss against learning rate, a suggestion",
        description=lr_find.__doc__,
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="work folder (holds config.json)")
    p.add_argument("--data", type=Path, help="dataset (default: dataset_info.source)")
    p.add_argument(
        "--steps", type=int, default=100, help="optimiser steps of the test (default: %(default)s)"
    )
    p.add_argument("--start-lr", type=float, default=1e-6, help="first learning rate (default: %(default)s)")
    p.add_argument("--end-lr", type=float, default=10.0, help="last learning rate (default: %(default)s)")
    add_config_options(p)
    add_plan_flags(p)
    add_train_flags(p)
    p.set_defaults(func=lr_find)

    p = sub.add_parser(
        "run-all",
        help="every stage end to end, with a cross-validation summary",
        description=plain(run_all.__doc__),
    )
    p.add_argument("data", type=Path, help="dataset folder (MSD or nnU-Net raw) or CSV table")
    p.add_argument("-o", "--out", type=Path, required=True, help="work folder")
    p.add_argument("--folds", nargs="+", help="fold numbers or 'all'")
    p.add_argument("--workers", type=int, help="cases analysed, preprocessed and evaluated in parallel")
    add_config_options(p)
    add_plan_flags(p)
    add_train_flags(p)
    add_tracking_flags(p)
    add_inference_flags(p)
    p.set_defaults(func=run_all)
