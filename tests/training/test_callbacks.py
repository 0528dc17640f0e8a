"""Callbacks: early stopping, the metrics CSV, the per-case validation table, previews with class names."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from medseg.training.callbacks import EarlyStopping
from medseg.training.callbacks.csv_logger import CSVLogger, ValidationCasesCSV
from medseg.training.validation import CaseResult, ValidationResult

sys.path.insert(0, str(Path(__file__).parent))
from resume_job import make_trainer


def _result(score: float, cases: dict[str, float]) -> ValidationResult:
    return ValidationResult(
        score,
        0.0,
        [CaseResult(k, {"bright": v}) for k, v in cases.items()],
        {"bright": score},
        {"bright": score},
    )


def _validating(root: Path, scores: list[float], callbacks: list[Any]) -> Any:
    trainer = make_trainer(str(root), callbacks)
    values = iter(scores)
    trainer.val_data = ["case"]
    trainer.validate = lambda: _result(next(values), {"a": 0.9, "b": 0.1, "c": 0.5})  # type: ignore[method-assign]
    return trainer


def test_early_stopping_stops_after_the_tolerance(tmp_path: Path) -> None:
    trainer = _validating(tmp_path, [0.5, 0.6, 0.6, 0.59, 0.61, 0.7], [EarlyStopping(2)])
    trainer.train(6)
    assert trainer.epoch == 4  # 0.6 at epoch 2 is the best; two validations without better stop it
    state = trainer.callbacks[-1].state_dict()
    assert state == {"best": 0.6, "bad_validations": 2}


def test_the_metrics_csv_equals_the_history_and_grows_new_columns(tmp_path: Path) -> None:
    trainer = _validating(tmp_path, [0.1, 0.2, 0.3], [CSVLogger()])
    trainer.train(3)
    with trainer.folder.metrics_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert [float(r["val_score"]) for r in rows] == [0.1, 0.2, 0.3]
    assert set(trainer.history[0]) <= set(rows[0])


def test_the_validation_table_lists_cases_worst_first(tmp_path: Path) -> None:
    trainer = _validating(tmp_path, [0.5], [ValidationCasesCSV()])
    trainer.train(1)
    with (trainer.folder.root / "validation" / "cases.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["case_id", "dice_bright", "mean", "epoch"]
    assert [r[0] for r in rows[1:]] == ["b", "c", "a"]


def test_the_worst_case_preview_has_a_legend_with_the_class_names(tmp_path: Path) -> None:
    from medseg.viz.previews import preview_figure

    image = np.random.default_rng(0).normal(size=(24, 24)).astype(np.float32)
    label = np.zeros((24, 24), dtype=np.int16)
    label[5:10, 5:10] = 1
    label[12:20, 12:20] = 2
    figure = preview_figure(image, label, label, class_names={1: "anterior", 2: "posterior"})
    texts = {
        t.get_text()
        for ax in figure.axes
        for legend in [ax.get_legend()]
        if legend
        for t in legend.get_texts()
    }
    texts |= {t.get_text() for legend in figure.legends for t in legend.get_texts()}
    assert {"1: anterior", "2: posterior"} <= texts
