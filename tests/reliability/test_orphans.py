"""Worker processes die with a ``medseg`` command killed by SIGKILL (real ``python -m medseg`` processes).

Before the fix the training loader's two workers, and the process pool of ``analyze --workers 2``,
stayed alive for good after ``kill -9`` of their parent, blocked on their queues.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_kit import ROOT, TINY, live_group_members, make_tiny_msd

from medseg.cli.main import main
from medseg.data.sample import sample_path

#: seconds the workers get to notice that their parent is gone
GRACE_S = 5.0


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("MEDSEG_KILL_AT", None)
    return subprocess.Popen(
        [sys.executable, "-m", "medseg.cli.main", *args],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when_workers_run(proc: subprocess.Popen[bytes], workers: int, timeout: float = 120.0) -> list[int]:
    """SIGKILL ``proc`` once ``workers`` processes run beside it; returns their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = [p for p in live_group_members(proc.pid) if p != proc.pid]
        if len(members) >= workers:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return members
        if proc.poll() is not None:
            pytest.fail(f"the command ended (exit {proc.returncode}) before its workers were seen")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {workers} workers appeared within {timeout:.0f} s")


def _survivors(pgid: int) -> list[int]:
    deadline = time.monotonic() + GRACE_S
    alive = live_group_members(pgid)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = live_group_members(pgid)
    for pid in alive:  # do not leave them running when the assertion fails
        os.kill(pid, signal.SIGKILL)
    return alive


def test_loader_workers_die_with_a_killed_trainer(tmp_path: Path) -> None:
    data, work = make_tiny_msd(tmp_path / "data"), tmp_path / "work"
    assert (
        main(
            [
                "analyze",
                str(data),
                "-o",
                str(work),
                "--workers",
                "0",
                "--features-base",
                "4",
                "--patch-size",
                "16",
                "16",
                "16",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    assert (
        main(["preprocess", "-o", str(work), "--workers", "0"]) == 0
    )  # so the only workers are the loader's
    proc = _start(
        [
            "train",
            "-o",
            str(work),
            "--fold",
            "0",
            "--epochs",
            "100",
            "--set",
            "training.workers=2",
            "--set",
            "preprocessing.workers=0",
            *TINY,
        ]
    )
    workers = _kill_when_workers_run(proc, 2)
    assert proc.returncode == -signal.SIGKILL
    assert _survivors(proc.pid) == [], f"loader workers {workers} outlived the killed trainer"


def test_pool_workers_die_with_a_killed_command(tmp_path: Path) -> None:
    """``analyze --workers 2`` fingerprints the 40 sample cases in a process pool (parallel_map)."""
    proc = _start(["analyze", str(sample_path()), "-o", str(tmp_path / "work"), "--workers", "2"])
    workers = _kill_when_workers_run(proc, 2)
    assert _survivors(proc.pid) == [], f"pool workers {workers} outlived the killed command"
