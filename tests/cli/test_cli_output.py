"""What the command prints: help without rst markup, ``--version``, tables instead of dict dumps."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from medseg.cli.help_text import plain
from medseg.cli.inference_verbs import metrics_table
from medseg.cli.main import build_parser, main
from medseg.cli.stages import summary_table

VERBS = [
    "analyze",
    "preprocess",
    "train",
    "run-all",
    "predict",
    "ensemble",
    "evaluate",
    "postprocess",
    "convert-msd",
    "convert-csv",
    "average-weights",
    "report",
    "demo",
]
RST = re.compile(r"``|:(class|func|meth|mod|attr):`")


def test_help_has_no_rst_markup(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], *([verb] for verb in VERBS)):
        with pytest.raises(SystemExit):
            build_parser().parse_args([*argv, "--help"])
        text = capsys.readouterr().out
        assert not RST.search(text), (argv, RST.search(text))
    assert plain("``medseg train``: see :class:`~medseg.presets.SegmentationTrainer`") == (
        "medseg train: see SegmentationTrainer"
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert re.match(r"medseg \d+\.\d+\.\d+ \(torch .+, python 3\.\d+\.\d+\)", capsys.readouterr().out)


def test_train_and_run_all_take_track_and_predict_takes_device() -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "-o", "w", "--track", "mlflow", "--track", "local"])
    assert args.track == ["mlflow", "local"]
    assert parser.parse_args(["run-all", "d", "-o", "w", "--track", "wandb"]).track == ["wandb"]
    assert parser.parse_args(["predict", "x", "-o", "y", "-e", "z", "--device", "cpu"]).device == "cpu"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "-o", "w", "--track", "comet"])


def _render(table: object) -> str:
    out = io.StringIO()
    Console(file=out, width=120).print(table)
    return out.getvalue()


def test_run_all_summary_and_evaluation_means_print_as_tables() -> None:
    summary = {
        "folds": {"0": {"mean": {"A/dice": 0.8, "B/dice": 0.7}}, "1": {"mean": {"A/dice": 0.9}}},
        "mean": {"A/dice": 0.85, "B/dice": 0.7},
    }
    text = _render(summary_table(summary))
    assert re.search(r"A/dice\s+│\s+0\.8000\s+│\s+0\.9000\s+│\s+0\.8500", text)
    assert re.search(r"B/dice\s+│\s+0\.7000\s+│\s+-\s+│", text)
    text = _render(metrics_table({"A/dice": 0.8, "A/hd95": 3.5, "B/dice": 0.7}, "mean over 2 case(s)"))
    assert re.search(r"A\s+│\s+0\.8000\s+│\s+3\.5000", text) and re.search(r"B\s+│\s+0\.7000\s+│\s+-", text)
