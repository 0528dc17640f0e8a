"""Command-line options shared by several verbs, and how flags become config overrides.

A flag is an override of one config key (the table ``FLAG_KEYS``); values are validated by the
config schema, so a bad flag gets the same one-line error as a bad config file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from medseg.config import Config, apply_overrides, load_config, with_network
from medseg.core.errors import ConfigError
from medseg.core.vocab import AmpMode, DeviceName, FrontendName, OptimizerName, ScheduleName, choices

#: argparse destination -> config key it overrides
FLAG_KEYS: dict[str, str] = {
    "model": "model.name",
    "features_base": "model.params.features_base",
    "deep_supervision": "model.deep_supervision",
    "patch_size": "spatial_config.patch_size",
    "target_spacing": "spatial_config.target_spacing",
    "batch_size": "training.batch_size",
    "epochs": "training.epochs",
    "steps_per_epoch": "training.steps_per_epoch",
    "loss": "training.loss",
    "composite_weighting": "training.composite_weighting",
    "optimizer": "training.optimizer",
    "lr": "training.lr",
    "lr_scheduler": "training.lr_scheduler",
    "warmup_epochs": "training.warmup_epochs",
    "amp": "training.amp",
    "ema": "training.ema",
    "folds": "training.folds",
    "n_folds": "training.n_folds",
    "seed": "training.seed",
    "deterministic": "training.deterministic",
    "device": "training.device",
    "time_budget": "training.time_budget_s",
    "pretrained_weights": "training.pretrained_weights",
    "freeze_encoder_epochs": "training.freeze_encoder_epochs",
    "checkpoint": "inference.checkpoint",
    "overlap": "inference.overlap",
    "tta": "inference.tta",
    "postprocessing": "inference.postprocessing",
    "track": "tracking.frontends",
}


def one_of(vocabulary: object) -> str:
    """``a, b or c``: the help text of a flag whose values are a core.vocab vocabulary."""
    values = choices(vocabulary)
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config`` and the generic ``--set KEY=VALUE``."""
    parser.add_argument(
        "--config", type=Path, help="config file (JSON or YAML); default: WORK/config.json if present"
    )
    parser.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set training.ema_decay=0.99 (repeatable)",
    )


def add_plan_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that steer planning (given to analyze/run-all they are planner overrides)."""
    parser.add_argument("--model", help="network registry name (model.name)")
    parser.add_argument(
        "--features-base", type=int, help="features of the first stage (model.params.features_base)"
    )
    parser.add_argument("--patch-size", type=int, nargs="+", help="patch size in array order z y x")
    parser.add_argument("--target-spacing", type=float, nargs="+", help="voxel spacing in array order z y x")
    parser.add_argument("--batch-size", type=int, help="patches per optimiser step")
    parser.add_argument(
        "--time-budget", type=float, help="wall-clock seconds for training (budget-aware planning)"
    )


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """Trainer flags (each overrides one training.* or model.* key)."""
    parser.add_argument("--epochs", type=int, help="epochs per fold (training.epochs)")
    parser.add_argument("--steps-per-epoch", type=int, help="optimiser steps per epoch")
    parser.add_argument("--loss", help="loss name (training.loss; docs/losses.md lists them)")
    parser.add_argument(
        "--composite-weighting",
        help="alpha schedule of a composite loss: constant, linear, "
        "step or cosine (training.composite_weighting)",
    )
    parser.add_argument("--optimizer", help=one_of(OptimizerName))
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--lr-scheduler", help=one_of(ScheduleName))
    parser.add_argument("--warmup-epochs", type=int, help="linear warm-up epochs")
    parser.add_argument("--amp", help=f"mixed precision: {one_of(AmpMode)}")
    parser.add_argument(
        "--ema", action=argparse.BooleanOptionalAction, help="exponential moving average of weights"
    )
    parser.add_argument("--deep-supervision", action=argparse.BooleanOptionalAction, help="deep supervision")
    parser.add_argument("--n-folds", type=int, help="number of cross-validation folds")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        help="deterministic kernels: a resumed run is bit-identical on the CPU (training.deterministic)",
    )
    parser.add_argument("--device", help=one_of(DeviceName))
    parser.add_argument(
        "--pretrained-weights",
        help="start from a checkpoint, experiment folder or state_dict (training.pretrained_weights)",
    )
    parser.add_argument(
        "--freeze-encoder-epochs", type=int, help="keep the pretrained encoder fixed for N epochs"
    )


def add_tracking_flags(parser: argparse.ArgumentParser) -> None:
    """``--track NAME`` (repeatable): the tracking frontends (replaces ``tracking.frontends``)."""
    parser.add_argument(
        "--track",
        action="append",
        choices=choices(FrontendName),
        metavar="NAME",
        help="report the run to a tracking frontend: "
        + ", ".join(choices(FrontendName))
        + " (repeatable; replaces tracking.frontends; docs/tracking.md)",
    )


def add_inference_flags(parser: argparse.ArgumentParser) -> None:
    """Inference flags (each overrides one inference.* key)."""
    parser.add_argument("--checkpoint", help="best or latest")
    parser.add_argument("--overlap", type=float, help="sliding-window overlap in [0, 1)")
    parser.add_argument("--tta", action=argparse.BooleanOptionalAction, help="mirror test-time augmentation")
    parser.add_argument("--postprocessing", help="postprocessing strategy JSON applied to predictions")


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _fold_value(values: list[str]) -> Any:
    if values == ["all"]:
        return "all"
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ConfigError(
            f"command line: key 'training.folds' = {values!r} is invalid; valid choices: fold "
            "numbers or 'all'"
        ) from None


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides from the flags given (``None`` = not given) and from ``--set``."""
    out: dict[str, Any] = {}
    for dest, key in FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        out[key] = _fold_value(value) if dest == "folds" else value
    for item in getattr(args, "set_values", []):
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"command line: --set {item!r} is invalid; valid form: KEY=VALUE")
        out[key.strip()] = _parse_value(text)
    return out


def effective_config(
    args: argparse.Namespace, work_dir: Path | None = None, check_names: bool = True
) -> Config:
    """The config file (``--config``, else ``work_dir/config.json``, else defaults) with flags applied.

    ``check_names`` checks the names against the registries (torch-side; the lite predictor skips it).
    """
    path: Path | None = args.config
    if path is None and work_dir is not None and (work_dir / "config.json").exists():
        path = work_dir / "config.json"
    config = load_config(path) if path is not None else Config()
    overrides = flag_overrides(args)
    if "model.name" in overrides and isinstance(overrides["model.name"], str):
        config = with_network(config, overrides["model.name"])
    config = apply_overrides(config, overrides, source="command line") if overrides else config
    if not check_names:
        return config
    from medseg.presets.names import check_names as check

    return check(config)
