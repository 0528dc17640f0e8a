"""Utility verbs: convert-msd, convert-csv (to the nnU-Net raw layout) and average-weights."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from medseg.cli.help_text import plain


def convert_msd(args: argparse.Namespace) -> int:
    """``medseg convert-msd MSD_DIR OUT``: an MSD task folder -> nnU-Net raw layout (one file per channel)."""
    from medseg.data.datasets import MSDDataset
    from medseg.data.datasets.export import write_nnunet_raw

    target = write_nnunet_raw(MSDDataset(args.source), args.out)
    Console().print(f"nnU-Net raw dataset written: {target}")
    return 0


def convert_csv(args: argparse.Namespace) -> int:
    """``medseg convert-csv TABLE OUT``: a CSV table of image/label paths -> nnU-Net raw layout."""
    from medseg.data.datasets import TableDataset
    from medseg.data.datasets.export import write_nnunet_raw

    dataset = TableDataset(
        args.table, image_columns=args.image_column, label_column=args.label_column, id_column=args.id_column
    )
    target = write_nnunet_raw(dataset, args.out)
    Console().print(f"nnU-Net raw dataset written: {target}")
    return 0


def average_weights(args: argparse.Namespace) -> int:
    """``medseg average-weights EXP... -o CKPT``: mean of the folds' weights as one checkpoint."""
    from medseg.inference.predictor import find_checkpoint
    from medseg.training.averaging import average_checkpoints

    paths = [find_checkpoint(p, args.checkpoint) for p in args.sources]
    out = average_checkpoints(paths, args.out)
    Console().print(f"averaged {len(paths)} checkpoint(s) into {out}")
    return 0


def register(sub: Any) -> None:
    """Add the utility verbs to the sub-command parser ``sub``."""
    p = sub.add_parser(
        "convert-msd", help="MSD task folder -> nnU-Net raw layout", description=plain(convert_msd.__doc__)
    )
    p.add_argument("source", type=Path, help="MSD task folder (dataset.json, imagesTr, labelsTr)")
    p.add_argument("out", type=Path, help="new nnU-Net raw dataset folder")
    p.set_defaults(func=convert_msd)

    p = sub.add_parser(
        "convert-csv", help="CSV table of files -> nnU-Net raw layout", description=plain(convert_csv.__doc__)
    )
    p.add_argument("table", type=Path, help="CSV file (paths relative to its folder)")
    p.add_argument("out", type=Path, help="new nnU-Net raw dataset folder")
    p.add_argument("--image-column", action="append", help="image column (repeatable; default: detected)")
    p.add_argument("--label-column", default="label", help="label column")
    p.add_argument("--id-column", help="case id column (default: from the file names)")
    p.set_defaults(func=convert_csv)

    p = sub.add_parser(
        "average-weights", help="fold weights -> one checkpoint", description=plain(average_weights.__doc__)
    )
    p.add_argument("sources", type=Path, nargs="+", help="experiment folders or checkpoint files")
    p.add_argument("-o", "--out", type=Path, required=True, help="checkpoint file to write (.safetensors)")
    p.add_argument("--checkpoint", default="best", help="which checkpoint of each folder: best or latest")
    p.set_defaults(func=average_weights)
