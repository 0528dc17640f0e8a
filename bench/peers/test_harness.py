"""Tests of the race harness itself (seconds; no peer venv needed).

Run: PYTHONPATH=src MEDSEG_SHARED_DATA=../shared/data .venv/bin/python -m pytest bench/peers/test_harness.py -q
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib
import race

HAVE_DATA = (peerlib.shared_data() / "Task04_Hippocampus").is_dir()
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="shared data not found (set MEDSEG_SHARED_DATA)")


def test_watchdog_stops_the_whole_process_group_at_the_deadline(tmp_path: Path) -> None:
    # a leader that starts a child (like a peer's data-loader workers) and never ends
    marker = tmp_path / "child.pid"
    script = (
        f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f" open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    start = time.monotonic()
    outcome = peerlib.run_until([sys.executable, "-c", script], start + 1.5, tmp_path / "log.txt")
    assert outcome.stopped_by == "watchdog"
    assert 1.4 < time.monotonic() - start < 1.5 + 5  # SIGTERM is enough for a sleeping python
    child = int(marker.read_text())
    time.sleep(0.2)
    assert not _running(child)  # the worker was stopped too, not left running
    assert "[watchdog] terminated" in (tmp_path / "log.txt").read_text()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_a_process_that_ends_by_itself_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    outcome = peerlib.run_until(
        [sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"],
        time.monotonic() + 30,
        tmp_path / "log.txt",
    )
    assert (outcome.stopped_by, outcome.returncode) == ("finished", 3)
    assert peerlib.last_line(tmp_path / "log.txt") == "hi"


def test_cells_are_interleaved_and_cover_the_issue_budgets() -> None:
    cells = race.interleave(race.BUDGETS["hippocampus"])
    assert sorted(cells) == sorted(
        [(p, 900) for p in race.PEERS]
        + [(p, 1800) for p in race.PEERS]
        + [("nnunet", 3600), ("medseg", 3600)]
    )
    assert all(a[0] != b[0] for a, b in itertools.pairwise(cells))  # never one peer back to back
    assert [b for _, b in cells] == sorted(b for _, b in cells)  # every peer's 15 min before anyone's 30
    assert race.parse_cells(["nnunet:900", "medseg:60"]) == [("nnunet", 900), ("medseg", 60)]
    with pytest.raises(SystemExit, match="cell 'nnunett:900' is invalid"):
        race.parse_cells(["nnunett:900"])


@needs_data
def test_the_splits_are_fold_1_of_the_seeded_kfold_and_disjoint() -> None:
    from medseg.data import MSDDataset
    from medseg.data.folds import kfold_assignments

    ids = MSDDataset(peerlib.shared_data() / "Task04_Hippocampus").case_ids
    split = json.loads((peerlib.HERE / "split_hippocampus.json").read_text())
    folds = kfold_assignments(ids, 5, seed=0)
    assert sorted(split["test"]) == sorted(c for c, f in folds.items() if f == 1)
    assert (len(split["train"]), len(split["test"])) == (166, 42)
    assert not set(split["train"]) & set(split["test"]) and set(split["train"]) | set(split["test"]) == set(
        ids
    )
    drive = json.loads((peerlib.HERE / "split_drive.json").read_text())
    assert (len(drive["train"]), len(drive["test"])) == (15, 5) and not set(drive["train"]) & set(
        drive["test"]
    )
    task = peerlib.load_task("drive")
    mask = task.test[0].mask
    assert (
        task.test[0].image.is_file() and task.test[0].label.is_file() and mask is not None and mask.is_file()
    )


def _write_predictions(folder: Path, task: peerlib.Task) -> list[tuple[float, float]]:
    """Reference labels as predictions, the second case without its posterior label; the expected Dice."""
    import SimpleITK as sitk

    (folder / "predictions").mkdir(parents=True)
    expected = []
    for i, case in enumerate(task.test):
        ref = sitk.ReadImage(str(case.label))
        array = sitk.GetArrayFromImage(ref)
        if i == 1:  # posterior predicted as background -> anterior 1, posterior 0
            array = np.where(array == 2, 0, array)
        pred = sitk.GetImageFromArray(array.astype(np.uint8))
        pred.CopyInformation(ref)
        sitk.WriteImage(pred, str(folder / "predictions" / f"{case.case_id}.nii.gz"))
        expected.append((1.0, 1.0) if i == 0 else (1.0, 0.0))
    return expected


@needs_data
def test_scoring_against_hand_computed_dice(tmp_path: Path) -> None:
    from score import score_run

    task = peerlib.load_task("hippocampus", test_cases=2)
    expected = _write_predictions(tmp_path, task)
    scores = score_run(tmp_path, task)
    assert scores["dice"] == pytest.approx({"anterior": 1.0, "posterior": 0.5})
    assert scores["mean_fg_dice"] == pytest.approx(np.mean([np.mean(e) for e in expected]))  # 0.75
    assert scores["scored_cases"] == 2 and not scores["resampled"]
    assert scores["per_case"] == pytest.approx({c.case_id: np.mean(e) for c, e in zip(task.test, expected)})


@needs_data
def test_a_finished_cell_is_merged_with_its_report_and_scored(tmp_path: Path) -> None:
    task = peerlib.load_task("hippocampus", test_cases=2)
    _write_predictions(tmp_path, task)
    report = peerlib.Report(
        "monai",
        "1.6.1",
        "hippocampus",
        60,
        10,
        2,
        True,
        steps=9,
        stopped_by="watchdog",
        wall_prep_s=0.1,
        wall_train_s=60.0,
    )
    report.write(tmp_path)  # error: None, as a successful peer script writes it
    row = race.collect({"peer": "monai", "budget_s": 60}, tmp_path, task)
    assert row["mean_fg_dice"] == pytest.approx(0.75) and row["steps"] == 9 and not row.get("error")
    failed = tmp_path / "failed"
    failed.mkdir()
    peerlib.Report("nnunet", "2.8.1", "hippocampus", 60, 10, 2, True, error="no checkpoint").write(failed)
    row = race.collect({"peer": "nnunet"}, failed, task)
    assert row["error"] == "no checkpoint" and "dice" not in row
    assert (
        race.collect({"peer": "x", "log": "L"}, tmp_path / "nothing", task)["error"] == "no run.json: see L"
    )


@needs_data
def test_a_missing_prediction_is_an_error_not_a_score(tmp_path: Path) -> None:
    from score import score_run

    from medseg.core.errors import DatasetError

    (tmp_path / "predictions").mkdir()
    with pytest.raises(DatasetError, match="no prediction for"):
        score_run(tmp_path, peerlib.load_task("hippocampus", test_cases=2))


def test_table_lists_every_cell_with_errors_visible() -> None:
    rows = [
        {
            "peer": "nnunet",
            "version": "2.8.1",
            "task": "hippocampus",
            "budget_s": 900,
            "steps": 500,
            "mean_fg_dice": 0.8,
            "dice": {"anterior": 0.81, "posterior": 0.79},
            "wall_budgeted_s": 899.0,
            "wall_predict_s": 120.0,
            "stopped_by": "watchdog",
        },
        {"peer": "monai", "task": "hippocampus", "budget_s": 900, "error": "training failed: boom"},
        {
            "peer": "medseg",
            "task": "drive",
            "budget_s": 180,
            "wall_budgeted_s": 556.0,
            "stopped_by": "own budget",
        },
    ]
    text = race.table(rows)
    assert "0.8100" in text and "15 min" in text and "ERROR: training failed: boom" in text
    lines = text.splitlines()
    assert "OVER BUDGET" in lines[3] and "OVER BUDGET" not in lines[1]
    assert text.splitlines()[0].split()[:4] == ["peer", "version", "task", "budget"]


def test_settle_waits_for_the_previous_cells_load_to_decay(monkeypatch: pytest.MonkeyPatch) -> None:
    # the 1-minute load average right after a busy cell, falling as it decays
    readings = iter([2.1, 1.6, 1.1, 0.7, 0.4, 0.3])
    monkeypatch.setattr(race, "load_average", lambda: next(readings))
    load, _ = race.settle(0.5, limit_s=60.0, poll_s=0.0)
    assert load == 0.4  # the first reading at or below the limit, not the stale one before it
    # a machine that stays busy: the wait ends at its limit and reports the load it found
    monkeypatch.setattr(race, "load_average", lambda: 3.0)
    start = time.monotonic()
    load, waited = race.settle(0.5, limit_s=0.3, poll_s=0.05)
    assert load == 3.0 and 0.3 <= waited < 2.0 and time.monotonic() - start < 2.0


def test_each_row_names_the_cpu_it_ran_on() -> None:
    # /proc/cpuinfo of the two hosts the shared machine has been (first processor only counts)
    epyc = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nmodel name\t: other\n"
    xeon = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480C\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
    assert race.cpu_model(epyc) == "AMD EPYC [avx2]"
    assert race.cpu_model(xeon) == "Intel(R) Xeon(R) Platinum 8480C [amx_bf16 avx512_bf16 avx512f avx2]"
    assert race.cpu_model("processor\t: 0\nflags\t: sse2\n").endswith("[no avx2]")
    table = race.table(
        [{"peer": "monai", "budget_s": 900, "cpu": "AMD EPYC [avx2]", "stopped_by": "watchdog"}]
    )
    assert "AMD EPYC [avx2]  watchdog" in table.splitlines()[1]


def test_paired_compares_medseg_case_by_case_with_peers_of_the_same_budget_and_cpu() -> None:
    rng = np.random.default_rng(1)
    cases = [f"c{i:02d}" for i in range(42)]
    base = rng.uniform(0.7, 0.9, len(cases))
    # medseg 0.01 above the peer on every case but small noise: a real, consistent difference
    medseg = {c: float(b + 0.01 + rng.normal(0, 0.002)) for c, b in zip(cases, base, strict=True)}
    monai = {c: float(b) for c, b in zip(cases, base, strict=True)}
    # a peer whose difference is all noise around zero (large spread): the interval spans 0
    noisy = {c: float(b + rng.normal(0, 0.05)) for c, b in zip(cases, base, strict=True)}
    cpu = "AMD EPYC [avx2]"
    rows = [
        {"peer": "medseg", "task": "hippocampus", "budget_s": 900, "cpu": cpu, "per_case": medseg},
        {"peer": "monai", "task": "hippocampus", "budget_s": 900, "cpu": cpu, "per_case": monai},
        {"peer": "fastmonai", "task": "hippocampus", "budget_s": 900, "cpu": cpu, "per_case": noisy},
        # not comparable: another CPU, another budget, no per-case scores
        {
            "peer": "monai",
            "task": "hippocampus",
            "budget_s": 900,
            "cpu": "Xeon [amx_bf16]",
            "per_case": monai,
        },
        {"peer": "monai", "task": "hippocampus", "budget_s": 1800, "cpu": cpu, "per_case": monai},
        {"peer": "nnunet", "task": "hippocampus", "budget_s": 900, "cpu": cpu},
    ]
    found = {c["peer"]: c for c in race.paired(rows)}
    assert set(found) == {"monai", "fastmonai"}
    vs_monai = found["monai"]
    expected = np.mean([medseg[c] - monai[c] for c in cases])
    assert vs_monai["cases"] == 42 and vs_monai["mean_diff"] == pytest.approx(expected)
    low, high = vs_monai["ci95"]
    assert 0 < low < expected < high < 0.02 and vs_monai["reference_higher"] >= 40
    low, high = found["fastmonai"]["ci95"]
    assert low < 0 < high
    text = race.paired_table(race.paired(rows))
    assert f"vs monai: {expected:+.4f} [" in text and "higher on" in text


@needs_data
def test_rescore_adds_per_case_scores_only_where_the_recorded_score_comes_out_again(tmp_path: Path) -> None:
    task = peerlib.load_task("hippocampus", test_cases=2)
    _write_predictions(tmp_path / "a", task)
    _write_predictions(tmp_path / "b", task)
    rows = [
        {"peer": "monai", "task": "hippocampus", "run_dir": str(tmp_path / "a"), "mean_fg_dice": 0.75},
        # recorded score differs from what its predictions give now: left alone, not overwritten
        {"peer": "medseg", "task": "hippocampus", "run_dir": str(tmp_path / "b"), "mean_fg_dice": 0.70},
        {"peer": "nnunet", "task": "hippocampus", "run_dir": str(tmp_path / "gone"), "mean_fg_dice": 0.8},
        {"peer": "nnunet", "task": "hippocampus", "run_dir": str(tmp_path / "a"), "error": "no checkpoint"},
    ]
    assert race.rescore(rows, task) == 1
    assert rows[0]["per_case"] == pytest.approx({task.test[0].case_id: 1.0, task.test[1].case_id: 0.5})
    assert all("per_case" not in r for r in rows[1:])
    results = tmp_path / "race.jsonl"
    race.write_rows(rows, results)
    assert race.read_rows(results) == rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "race.jsonl"]  # no temporary left


def test_the_exit_code_fails_only_for_a_cell_with_an_error() -> None:
    # the evening race of 2026-12-04 exited 1 although both its cells had scores: run.json holds "error": null
    assert race.exit_code([{"peer": "medseg", "error": None}, {"peer": "monai"}]) == 0
    assert (
        race.exit_code([{"peer": "medseg", "error": None}, {"peer": "nnunet", "error": "no checkpoint"}]) == 1
    )
