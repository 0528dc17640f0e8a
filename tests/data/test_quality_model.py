"""The planner's quality model against the real runs it was calibrated on (and which it must explain).

Every record of ``bench/training/results/planner_calibration.jsonl`` is a complete training schedule
with its measured held-out Dice; the default constants must reproduce each one within 0.03 Dice and
all of them with an RMS error below 0.013 (the 2026-12-02 constants: 0.017 over the same runs).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from medseg.data.planning.candidates import Candidate
from medseg.data.planning.quality import DEFAULT_MODEL, DataShape, QualityModel
from medseg.nets import network_entry

RECORDS = Path(__file__).resolve().parents[2] / "bench" / "training" / "results" / "planner_calibration.jsonl"


def _rows() -> list[tuple[Candidate, int, DataShape, float]]:
    rows = []
    for line in RECORDS.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        spacing = [1.0] * len(r["patch"])
        cand = Candidate.build(
            network_entry("unet"), r["width"], r["patch"], r["batch"], spacing, r["poolings"]
        )
        assert cand.num_stages == r["stages"], r["name"]
        data = DataShape(r["train_cases"], r["median_case_voxels"], r["object_mm"], spacing)
        rows.append((cand, r["steps"], data, r["mean_dice"]))
    return rows


def test_the_default_constants_explain_every_recorded_run() -> None:
    rows = _rows()
    assert len(rows) >= 15
    residuals = [DEFAULT_MODEL.expected(c, steps, d) - dice for c, steps, d, dice in rows]
    assert max(abs(r) for r in residuals) <= 0.03, residuals
    assert math.sqrt(sum(r * r for r in residuals) / len(residuals)) < 0.013


def test_a_deeper_net_on_the_same_patch_is_expected_to_do_better_at_equal_steps() -> None:
    """With the theoretical field (rho 1) a 3- and a 4-stage U-Net on a 40x56x40 patch tie."""
    entry, spacing = network_entry("unet"), [1.0, 1.0, 1.0]
    data = DataShape(25, 63900.0, [26.5, 39.0, 23.0], spacing)
    shallow, deep = (Candidate.build(entry, 24, [40, 56, 40], 2, spacing, pools) for pools in (2, 3))
    assert deep.num_stages == shallow.num_stages + 1 == 4
    assert DEFAULT_MODEL.expected(deep, 1200, data) > DEFAULT_MODEL.expected(shallow, 1200, data) + 0.005
    flat = QualityModel(rho=1.0)
    assert math.isclose(flat.expected(deep, 1200, data), flat.expected(shallow, 1200, data))
