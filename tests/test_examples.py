"""The examples in examples/ run end to end (a few optimiser steps) and write what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_custom_network_example_trains_predicts_and_evaluates(tmp_path: Path) -> None:
    out = tmp_path / "custom"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_network.py"), "--steps", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(out / "metrics.csv")
    # fold 0 of 5 on the 40-case sample holds 8 validation cases, each scored on 2 regions
    assert table["case_id"].nunique() == len(table) == 8
    assert set(table.columns) == {"case_id", "Anterior/dice", "Posterior/dice"}
    assert table[["Anterior/dice", "Posterior/dice"]].stack().between(0, 1).all()
    assert len(list((out / "predictions").glob("*.nii.gz"))) == 8
    assert list((out / "experiments").glob("TinyTrainer_fold0*"))
