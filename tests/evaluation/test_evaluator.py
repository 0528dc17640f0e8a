"""Evaluator and EvalResult on hand-made label maps with known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from medseg.core.errors import DatasetError
from medseg.evaluation import EvalResult, Evaluator
from medseg.io import Geometry, Image, write_image


def dice(p: np.ndarray, r: np.ndarray, spacing: tuple[float, ...]) -> float:
    denom = p.sum() + r.sum()
    return 1.0 if denom == 0 else float(2 * (p & r).sum() / denom)


def volume_ml(p: np.ndarray, r: np.ndarray, spacing: tuple[float, ...]) -> float:
    return float(p.sum() * np.prod(spacing) / 1000.0)


def _pair() -> tuple[np.ndarray, np.ndarray]:
    ref = np.zeros((4, 4, 4), np.uint8)
    ref[:2] = 1
    ref[2:] = 2
    pred = ref.copy()
    pred[0] = 0  # half of label 1 missed
    return pred, ref


def test_per_label_regions_and_unions() -> None:
    pred, ref = _pair()
    ev = Evaluator(dice, volume_ml, regions={"one": 1, "two": 2, "all": [1, 2]}, progress=False)
    result = ev.evaluate_pairs([("a", pred, ref, (2.0, 1.0, 1.0))])
    wide = result.wide()
    assert wide.loc["a", "one/dice"] == pytest.approx(2 * 16 / (16 + 32))
    assert wide.loc["a", "two/dice"] == 1.0
    assert wide.loc["a", "all/dice"] == pytest.approx(2 * 48 / (48 + 64))
    assert wide.loc["a", "one/volume_ml"] == pytest.approx(16 * 2 / 1000)


def test_default_regions_are_the_labels_present() -> None:
    pred, ref = _pair()
    result = Evaluator(dice, progress=False).evaluate_pairs([("a", pred, ref, (1.0, 1.0, 1.0))])
    assert sorted(set(result.table["region"])) == ["label_1", "label_2"]


def test_summary_worst_and_exports(tmp_path) -> None:
    rows = [
        {"case_id": c, "region": "r", "metric": "dice", "value": v}
        for c, v in [("a", 0.9), ("b", 0.5), ("c", 0.7)]
    ]
    rows.append({"case_id": "c", "region": "r", "metric": "hd95", "value": math.inf})
    result = EvalResult.from_rows(rows)
    summary = result.summary()
    assert summary.loc[("r", "dice"), "mean"] == pytest.approx(0.7)
    assert summary.loc[("r", "dice"), "median"] == pytest.approx(0.7)
    assert summary.loc[("r", "hd95"), "non_finite"] == 1
    assert list(result.worst("dice", n=2).index) == ["b", "c"]
    with pytest.raises(KeyError, match="metric 'nsd' not in this result"):
        result.worst("nsd")
    csv_path = result.to_csv(tmp_path / "out" / "metrics.csv")
    table = pd.read_csv(csv_path, index_col=0)
    assert table.loc["b", "r/dice"] == 0.5
    data = json.loads(result.to_json(tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert data["cases"]["c"]["r/hd95"] == "inf"
    assert data["summary"]["r/dice"]["mean"] == pytest.approx(0.7)


def test_parallel_equals_serial() -> None:
    rng = np.random.default_rng(0)
    pairs = [
        (f"c{i}", rng.integers(0, 3, (6, 6, 6)), rng.integers(0, 3, (6, 6, 6)), (1.0, 1.0, 1.0))
        for i in range(5)
    ]
    serial = Evaluator(dice, progress=False).evaluate_pairs(pairs).table
    parallel = Evaluator(dice, workers=2, progress=False).evaluate_pairs(pairs).table
    pd.testing.assert_frame_equal(serial, parallel)


def test_evaluate_folders_matches_by_name_and_reports_missing(tmp_path) -> None:
    pred, ref = _pair()
    geom = Geometry.identity(3)
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    write_image(Image(ref[None], geom), tmp_path / "r" / "case1.nii.gz")
    write_image(Image(pred[None], geom), tmp_path / "p" / "case1.nii.gz")
    result = Evaluator(dice, regions={"one": 1}, progress=False).evaluate_folders(
        tmp_path / "p", tmp_path / "r"
    )
    assert result.wide().loc["case1", "one/dice"] == pytest.approx(2 / 3)
    write_image(Image(ref[None], geom), tmp_path / "r" / "case2.nii.gz")
    with pytest.raises(DatasetError, match="no prediction for 1 reference"):
        Evaluator(dice, progress=False).evaluate_folders(tmp_path / "p", tmp_path / "r")


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="prediction shape"):
        Evaluator(dice, progress=False).evaluate_pairs(
            [("a", np.zeros((2, 2)), np.zeros((3, 3)), (1.0, 1.0))]
        )
