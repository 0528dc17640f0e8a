"""``medseg export EXPERIMENT -o model.onnx``: a deployable model, its plain weights and a model card."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def export(args: argparse.Namespace) -> int:
    """Export, check parity with PyTorch (max abs logit difference), write model + weights + card."""
    from rich.console import Console

    from medseg.inference.export import export_model

    console = Console()
    result = export_model(
        args.experiment,
        args.out,
        checkpoint=args.checkpoint,
        cases=args.cases,
        tolerance=args.tolerance,
        opset=args.opset,
        log=lambda text: console.print(text, soft_wrap=True),
    )
    axes = "batch + spatial" if result.dynamic_spatial else "batch"
    console.print(
        f"max abs logit difference vs PyTorch: {result.max_abs_difference:.3g} "
        f"(limit {result.limit:.3g}); dynamic axes: {axes}; {result.seconds:.1f} s"
    )
    return 0


def register(sub: Any) -> None:
    """Add the ``export`` verb to the sub-command parser ``sub``."""
    p = sub.add_parser(
        "export",
        help="export a trained experiment (ONNX or torch.export) with weights and a card",
        description=f"{export.__doc__} See docs/deploy.md.",
    )
    p.add_argument("experiment", type=Path, help="experiment folder or checkpoint file")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        help="model file: NAME.onnx (ONNX, for `predict --backend onnxruntime`) or NAME.pt/.pt2 "
        "(torch.export); NAME.safetensors and NAME.md are written beside it",
    )
    p.add_argument(
        "--checkpoint", default="best", help="checkpoint of the folder: best (default), latest, ..."
    )
    p.add_argument(
        "--cases",
        type=Path,
        nargs="+",
        help="image files/folders for the parity check (default: the "
        "training data's preprocessed cases when found, plus random patches)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="largest max abs logit difference accepted (default: %(default)s)",
    )
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    p.set_defaults(func=export)
