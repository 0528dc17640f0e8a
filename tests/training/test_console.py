"""The training console: a step bar within each epoch on a terminal only, one table per epoch in logs,
the same epoch number in the console, metrics.csv and the tracking step, and the score prediction
shown with its band (console and progress plot)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from rich.console import Console

from medseg.tracking import JsonLinesFrontend
from medseg.training.callbacks.console import ConsoleCallback, prediction_text
from medseg.training.callbacks.csv_logger import CSVLogger
from medseg.training.callbacks.plots import _draw_prediction
from medseg.training.callbacks.tracking import TrackingCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resume_job import make_trainer


def _run(tmp_path: Path, terminal: bool) -> tuple[str, Path]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100)
    frontend = JsonLinesFrontend(tmp_path / "events.jsonl")
    trainer = make_trainer(
        str(tmp_path / "exp"), [CSVLogger(), ConsoleCallback(console), TrackingCallback(frontend)]
    )
    folder = trainer.train(2).root
    return out.getvalue(), folder


def test_step_bar_on_a_terminal_and_one_table_per_epoch_in_a_log(tmp_path: Path) -> None:
    terminal, _ = _run(tmp_path / "tty", terminal=True)
    bar = re.compile(r"epoch 1/2 .*\d/\d+ loss \d+\.\d{4}")  # the step bar: steps done, running loss
    assert bar.search(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal))  # (ANSI control codes removed)
    log, folder = _run(tmp_path / "log", terminal=False)
    assert not re.search(r"loss \d+\.\d{4}", log)  # no bar in redirected output
    assert log.count("epoch 1/2") == 1 and log.count("epoch 2/2") == 1
    assert "epoch 0/" not in log
    # one epoch numbering: console titles, metrics.csv and the tracking step
    assert pd.read_csv(folder / "metrics.csv")["epoch"].tolist() == [1, 2]
    events = [
        json.loads(line)
        for line in (tmp_path / "log" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [e["step"] for e in events if e["event"] == "metrics"] == [1, 2]
    assert (folder / "training.log").read_text(encoding="utf-8").count("epoch 2/2") == 1


def test_prediction_text_shows_the_band_or_says_it_is_too_early() -> None:
    row = {
        "predicted_final": 0.874,
        "predicted_lower": 0.865,
        "predicted_upper": 0.883,
        "settle_epoch": 41.0,
        "etc_seconds": 750.0,
    }
    assert prediction_text(row) == (
        "0.8740, 80 % band [0.8650, 0.8830]; inside it from epoch 41 (ETC 0:12:30)"
    )
    assert "too early" in (prediction_text({"predicted_final": 0.7}) or "")
    assert prediction_text({"val_score": 0.7}) is None


def test_progress_plot_shades_the_band_to_the_last_epoch() -> None:
    history = [
        {"epoch": 1.0, "val_score": 0.5},
        {"epoch": 2.0, "val_score": 0.7, "predicted_final": 0.8},
        {
            "epoch": 3.0,
            "val_score": 0.75,
            "predicted_final": 0.82,
            "predicted_lower": 0.8,
            "predicted_upper": 0.84,
        },
    ]
    ax = Figure().add_subplot()
    _draw_prediction(ax, history, num_epochs=10)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    xs, ys = band.get_paths()[0].vertices.T
    assert xs.min() == 3.0 and xs.max() == 10.0 and round(ys.min(), 6) == 0.8 and round(ys.max(), 6) == 0.84
    assert any("predicted final 0.8200" in (t.get_text()) for t in ax.legend().get_texts())
