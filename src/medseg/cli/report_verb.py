"""The ``report`` verb: a self-contained HTML report of an experiment folder or a work folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from medseg.cli.help_text import plain


def report(args: argparse.Namespace) -> int:
    """``medseg report FOLDER``: write FOLDER/report.html (experiment or work folder, detected)."""
    from medseg.viz.report import write_report

    path = write_report(args.folder, kind=args.kind)
    Console().print(f"report written: {path}")
    return 0


def register(sub: Any) -> None:
    """Add the ``report`` verb to the sub-command parser ``sub``."""
    p = sub.add_parser(
        "report", help="experiment or work folder -> report.html", description=plain(report.__doc__)
    )
    p.add_argument("folder", type=Path, help="an experiment folder or a work folder (medseg run-all -o WORK)")
    p.add_argument(
        "--kind",
        choices=["auto", "experiment", "work"],
        default="auto",
        help="what FOLDER is (default: detected from its contents)",
    )
    p.set_defaults(func=report)
