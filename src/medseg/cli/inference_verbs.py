"""Verbs after training: predict, ensemble, evaluate, postprocess (thin: they call the library)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from medseg.cli.help_text import plain
from medseg.cli.options import add_config_options, add_inference_flags, effective_config, one_of
from medseg.config import Config, apply_overrides, save_config
from medseg.core.errors import ConfigError
from medseg.core.vocab import DeviceName


def _experiments(args: argparse.Namespace, config: Config) -> list[Path]:
    from medseg.presets.experiments import trained_experiments

    if args.experiment:
        return list(args.experiment)
    if args.work is None:
        raise ConfigError("command line: give --experiment EXP (repeatable) or --work WORK")
    folds = args.folds or config.inference.ensemble_folds
    if folds == ["all"]:
        folds = "all"
    return trained_experiments(args.work, folds if folds == "all" else [str(f) for f in folds])


def predict(args: argparse.Namespace) -> int:
    """``medseg predict INPUT -o OUT -e EXP``: label maps in the source geometry (several EXP = ensemble)."""
    if getattr(args, "backend", "torch") == "onnxruntime":
        return _predict_lite(args)
    onnx_files = [str(p) for p in args.experiment if p.suffix.lower() == ".onnx"]
    if onnx_files:
        raise ConfigError(
            f"command line: {', '.join(onnx_files)} is an exported ONNX model; predict with it "
            "using --backend onnxruntime"
        )
    from medseg.presets.pipeline import make_predictor
    from medseg.presets.pipeline import predict as run
    from medseg.training import distributed

    config = effective_config(args, args.work)
    sources = _experiments(args, config)
    predictor = make_predictor(config, sources)
    console = Console()
    if distributed.is_main():
        for choice in predictor.checkpoint_choices:
            console.print(
                choice.describe(), style="yellow" if choice.fallback else None, soft_wrap=True, markup=False
            )
    labels = run(config, sources, args.input, args.out, predictor=predictor, progress=distributed.is_main())
    if distributed.world_size() > 1:  # the ranks predicted their share of the cases
        distributed.barrier()
        if not distributed.is_main():
            return 0
    save_config(config, args.out / "config.json")
    console.print(f"{len(labels)} prediction(s) from {len(sources)} model(s) written to {args.out}")
    return 0


def _predict_lite(args: argparse.Namespace) -> int:
    """``predict --backend onnxruntime -e MODEL.onnx``: the torch-free predictor (:mod:`medseg.lite`)."""
    from medseg.lite.predictor import predict_folder

    if args.work is not None or not args.experiment:
        raise ConfigError(
            "command line: --backend onnxruntime predicts with exported models: give -e MODEL.onnx "
            "(repeatable: an ensemble), not --work (see `medseg export`)"
        )
    not_onnx = [str(p) for p in args.experiment if p.suffix.lower() != ".onnx"]
    if not_onnx:
        raise ConfigError(
            f"command line: --backend onnxruntime needs .onnx files from `medseg export`, got "
            f"{', '.join(not_onnx)}"
        )
    config = effective_config(args, check_names=False)
    inf = config.inference
    if inf.postprocessing:
        raise ConfigError(
            "config key 'inference.postprocessing' is not supported by --backend onnxruntime; "
            "apply it afterwards with `medseg postprocess PRED --strategy JSON -o OUT`"
        )
    console = Console()
    console.print(
        f"predicting {args.input} with {len(args.experiment)} ONNX model(s) (ONNX Runtime, no torch)"
    )
    written = predict_folder(
        args.experiment,
        args.input,
        args.out,
        suffix=inf.output_format,
        mirror_axes=inf.mirror_axes if inf.tta else (),
        overlap=inf.overlap,
        window_batch_size=inf.window_batch_size,
        blend=inf.blend,
        threads=args.threads,
    )
    save_config(config, args.out / "config.json")
    console.print(f"{len(written)} prediction(s) from {len(args.experiment)} model(s) written to {args.out}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """``medseg evaluate PRED REF -o CSV``: per-case metrics per class/region, plus their means."""
    from medseg.presets.pipeline import make_evaluator

    config = effective_config(args)
    overrides: dict[str, Any] = {}
    if args.metric:
        overrides["evaluation.metrics"] = args.metric
    if args.region:
        overrides["evaluation.regions"] = dict(_region(text) for text in args.region)
    if args.workers is not None:
        overrides["evaluation.workers"] = args.workers
    config = apply_overrides(config, overrides, source="command line") if overrides else config
    from medseg.presets.names import check_names

    evaluator = make_evaluator(check_names(config))
    dataset = _reference_dataset(args.references)
    if dataset is not None:
        result = evaluator.evaluate_against_dataset(args.predictions, dataset, resample=args.resample)
    else:
        result = evaluator.evaluate_folders(args.predictions, args.references, resample=args.resample)
    result.to_csv(args.out)
    result.to_json(args.out.with_suffix(".json"))
    save_config(config, args.out.parent / "config.json")
    console = Console()
    if evaluator.unmatched:
        shown = ", ".join(evaluator.unmatched[:5]) + (" ..." if len(evaluator.unmatched) > 5 else "")
        console.print(
            f"[yellow]{len(evaluator.unmatched)} prediction(s) have no reference and were not "
            f"scored: {shown}[/]"
        )
    console.print(metrics_table(result.mean_metrics, f"mean over {len(result.case_ids)} case(s)"))
    console.print(f"per-case metrics: {args.out}")
    return 0


def metrics_table(means: dict[str, float], title: str) -> Table:
    """``{"region/metric": value}`` as a table: one row per region, one column per metric."""
    regions: dict[str, dict[str, float]] = {}
    metrics: list[str] = []
    for key, value in means.items():
        region, _, metric = key.rpartition("/") if "/" in key else ("", "", key)
        regions.setdefault(region, {})[metric] = value
        if metric not in metrics:
            metrics.append(metric)
    table = Table(title=title)
    table.add_column("region")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for region, values in regions.items():
        table.add_row(region or "-", *(f"{values[m]:.4f}" if m in values else "-" for m in metrics))
    return table


def _reference_dataset(path: Path) -> Any:
    """The dataset at ``path`` when it is one (MSD, nnU-Net, paired folders, CSV), else None (a label folder)."""
    from medseg.core.errors import DatasetError
    from medseg.data.datasets.detect import open_dataset

    if path.is_file() or (
        path.is_dir() and ((path / "dataset.json").is_file() or any(p.is_dir() for p in path.iterdir()))
    ):
        try:
            return open_dataset(path)
        except DatasetError:
            if path.is_file():
                raise
    return None


def _region(text: str) -> tuple[str, list[int]]:
    name, sep, values = text.partition("=")
    try:
        labels = [int(v) for v in values.split(",")]
    except ValueError:
        labels = []
    if not sep or not name or not labels:
        raise ConfigError(f"command line: --region {text!r} is invalid; valid form: NAME=LABEL[,LABEL...]")
    return name, labels


def postprocess(args: argparse.Namespace) -> int:
    """``medseg postprocess PRED -o OUT``: choose a strategy (``--reference``) and/or apply one (``--strategy``)."""
    from medseg.inference.postprocessing_strategy import PostprocessingStrategy
    from medseg.presets.postprocess_folders import apply_to_folder, select_for_folders

    console = Console()
    if args.reference is not None:
        selection = select_for_folders(args.predictions, args.reference)
        strategy = selection.strategy
        strategy.save(args.out / "postprocessing.json")
        console.print(f"Dice per class before {selection.dice_before}, after {selection.dice_after}")
        console.print(
            f"strategy ({len(strategy.steps)} step(s)) written to {args.out / 'postprocessing.json'}"
        )
    elif args.strategy is not None:
        strategy = PostprocessingStrategy.load(args.strategy)
    else:
        raise ConfigError(
            "command line: postprocess needs --reference REF (choose) or --strategy JSON (apply)"
        )
    written = apply_to_folder(strategy, args.predictions, args.out / "postprocessed", workers=args.workers)
    console.print(f"{len(written)} postprocessed label map(s) in {args.out / 'postprocessed'}")
    return 0


def _predict_parser(p: argparse.ArgumentParser, ensemble: bool) -> None:
    p.add_argument("input", type=Path, help="image file or folder (CASE.nii.gz or CASE_0000.nii.gz ...)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "-e",
        "--experiment",
        type=Path,
        action="append",
        default=[],
        help="experiment folder or checkpoint file (repeatable: an ensemble)",
    )
    p.add_argument("-w", "--work", type=Path, help="work folder: use its config.json and trained folds")
    p.add_argument(
        "--folds",
        nargs="+",
        help="folds of WORK to combine (default: inference.ensemble_folds)"
        if ensemble
        else "folds of WORK to use (default: inference.ensemble_folds; one = no ensemble)",
    )
    p.add_argument("--device", help=f"{one_of(DeviceName)} (training.device; default: auto)")

    p.add_argument(
        "--backend",
        choices=("torch", "onnxruntime"),
        default="torch",
        help="torch: checkpoints or experiment folders; onnxruntime: .onnx files from `medseg export`, "
        "predicted without torch (pip install 'medseg[lite]')",
    )
    p.add_argument(
        "--threads", type=int, help="ONNX Runtime threads (--backend onnxruntime; default: every core)"
    )
    add_config_options(p)
    add_inference_flags(p)


def register(sub: Any) -> None:
    """Add the inference verbs to the sub-command parser ``sub``."""
    p = sub.add_parser(
        "predict", help="predict label maps with trained experiment(s)", description=plain(predict.__doc__)
    )
    _predict_parser(p, ensemble=False)
    p.set_defaults(func=predict)
    p = sub.add_parser(
        "ensemble",
        help="predict with every trained fold of a work folder, probabilities averaged",
        description="medseg ensemble INPUT -o OUT -w WORK: the folds' softmax outputs are "
        "averaged before the argmax (the same as predict with several experiments).",
    )
    _predict_parser(p, ensemble=True)
    p.set_defaults(func=predict)

    p = sub.add_parser(
        "evaluate", help="score predicted label maps against references", description=plain(evaluate.__doc__)
    )
    p.add_argument("predictions", type=Path, help="folder of predicted label maps")
    p.add_argument(
        "references",
        type=Path,
        help="folder of reference label maps (matched by case id, any format), "
        "or a dataset (MSD/nnU-Net folder, paired image/label folders, CSV table)",
    )
    p.add_argument(
        "--resample",
        action="store_true",
        help="resample predictions onto the reference grid "
        "(nearest neighbour) instead of refusing a grid mismatch",
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="CSV file of per-case metrics")
    p.add_argument("--metric", action="append", help="metric name, e.g. dice, hd95, nsd@2 (repeatable)")
    p.add_argument("--region", action="append", help="NAME=LABEL[,LABEL...], a union of labels (repeatable)")
    p.add_argument("--workers", type=int, help="cases evaluated in parallel")
    add_config_options(p)
    p.set_defaults(func=evaluate)

    p = sub.add_parser(
        "postprocess",
        help="choose and/or apply connected-component postprocessing",
        description=plain(postprocess.__doc__),
    )
    p.add_argument("predictions", type=Path, help="folder of predicted label maps")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--reference", type=Path, help="reference folder: choose the strategy on these cases")
    p.add_argument("--strategy", type=Path, help="strategy JSON to apply")
    p.add_argument("--workers", type=int, default=0, help="cases processed in parallel")
    p.set_defaults(func=postprocess)
