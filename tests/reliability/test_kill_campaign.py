"""kill -9 through the CLI: 11 kill points in one training run, with the loader's workers running.

One deterministic run (``medseg train --deterministic``, 2 loader workers, 6 epochs of 2 steps) is
killed with SIGKILL at a chain of points — after an optimiser step, before a validation, after an
epoch before its checkpoints, between ``best`` and ``latest``, inside a checkpoint write (temporary
file created empty, or fully written but not renamed), inside another atomic write — and resumed
with ``medseg train --resume`` after each. After every kill:

* the loader workers of the killed process are gone within a few seconds;
* every checkpoint on disk loads (hash verified) and ``latest`` never goes back in time;
* a temporary file the kill left behind is removed by the next resume.

At the end the resumed run's weights, optimiser state and metrics equal, bit for bit, those of the
same run trained without interruption. The kill points are named by ``MEDSEG_KILL_AT``
(:mod:`medseg.core.faults`); the runs are forked from a warm launcher (``launcher.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from reliability_kit import ROOT, TINY, live_group_members, make_tiny_msd, temporaries

from medseg.io.state import load_state

EPOCHS = 6
TRAIN = [
    "train",
    "--fold",
    "0",
    "--epochs",
    str(EPOCHS),
    "--deterministic",
    "--set",
    "training.workers=2",
    "--set",
    "training.val_max_share=1.0",
    *TINY,
]
PLAN = ["--features-base", "4", "--patch-size", "16", "16", "16", "--batch-size", "2"]
#: metrics columns that measure time (they differ between runs; everything else must not)
TIMING = ("epoch_time", "val_time", "step_time", "eta", "etc_seconds")  # wall-clock derived


@dataclass
class Step:
    kill_at: str | None  # MEDSEG_KILL_AT, or None: run to the end
    resume: bool
    expect: str  # "killed", "done" or "no-run" (resume refused: nothing to resume yet)


CHAIN = [
    Step("between_checkpoints@1", False, "killed"),  # first epoch: best written, latest not: not resumable
    Step(None, True, "no-run"),
    Step("train_step@1", False, "killed"),  # a fresh run, killed at its first step (workers just started)
    Step("epoch_end@2", False, "killed"),  # a fresh run: epoch 0 checkpointed, epoch 1 done but not saved
    Step("state_begin@1", True, "killed"),  # inside a checkpoint write: its temporary file exists, empty
    Step("state_write@1", True, "killed"),  # inside a checkpoint write: written, not yet renamed
    Step("train_step@3", True, "killed"),
    Step("validation@2", True, "killed"),
    Step("atomic_write@2", True, "killed"),  # inside a metrics/plot/config write
    Step("epoch_end@1", True, "killed"),
    Step("train_step@1", True, "killed"),  # right after resuming, workers starting
    Step("state_write@2", True, "killed"),
    Step(None, True, "done"),
]


class Launcher:
    """The warm launcher process (``launcher.py``)."""

    def __init__(self, logs: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
        env.pop("MEDSEG_KILL_AT", None)
        self.logs = logs
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("launcher.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.count = 0

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, int, str, str]:
        """``(exit status, pid, stdout, stderr)`` of ``medseg ARGV`` in a forked child."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.count += 1
        out, err = self.logs / f"{self.count}.out", self.logs / f"{self.count}.err"
        request = {"argv": argv, "env": env or {}, "stdout": str(out), "stderr": str(err)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        pid = json.loads(self.proc.stdout.readline())["pid"]
        code = json.loads(self.proc.stdout.readline())["code"]
        return code, pid, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Any:
    logs = tmp_path_factory.mktemp("launcher_logs")
    started = Launcher(logs)
    yield started
    started.close()


def _runs(work: Path) -> list[Path]:
    return sorted((work / "experiments" / "SegmentationTrainer_fold0").glob("*/"))


def _state(path: Path) -> dict[str, Any]:
    state, _ = load_state(path)  # verifies the content hash
    return dict(state)


def _tensors(state: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    if isinstance(state, torch.Tensor):
        out[prefix] = state
    elif isinstance(state, dict):
        for key, value in state.items():
            out.update(_tensors(value, f"{prefix}/{key}"))
    elif isinstance(state, list | tuple):
        for i, value in enumerate(state):
            out.update(_tensors(value, f"{prefix}/{i}"))
    return out


def _metrics(run: Path) -> pd.DataFrame:
    frame = pd.read_csv(run / "metrics.csv")
    return frame.drop(columns=[c for c in frame.columns if c in TIMING or c.endswith("_time")])


def _wait_group_gone(pgid: int, timeout: float = 8.0) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = live_group_members(pgid)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = live_group_members(pgid)
    return alive


def test_kill_campaign(launcher: Launcher, tmp_path: Path) -> None:
    data = make_tiny_msd(tmp_path / "data")
    straight, work = tmp_path / "straight", tmp_path / "killed"
    code, _, _, err = launcher.run(["analyze", str(data), "-o", str(straight), "--workers", "0", *PLAN])
    assert code == 0, err
    code, _, _, err = launcher.run(["preprocess", "-o", str(straight), "--workers", "0"])
    assert code == 0, err
    shutil.copytree(straight, work)
    code, _, _, err = launcher.run([*TRAIN, "-o", str(straight)])
    assert code == 0, err
    (reference,) = _runs(straight)

    kills, latest_epoch, stale = 0, -1, []
    for step in CHAIN:
        env = {"MEDSEG_KILL_AT": step.kill_at} if step.kill_at else {}
        started = time.perf_counter()
        code, pid, _, err = launcher.run(
            [*TRAIN, "-o", str(work), *(["--resume"] if step.resume else [])], env
        )
        print(f"{step.kill_at} resume={step.resume}: exit {code} in {time.perf_counter() - started:.1f} s")
        what = f"{step.kill_at or 'no kill'} ({'resume' if step.resume else 'fresh'})"
        if step.expect == "killed":
            assert code == -signal.SIGKILL, (
                f"{what}: exit {code}, the kill point was not reached: {err[-2000:]}"
            )
            kills += 1
            assert _wait_group_gone(pid) == [], f"{what}: the killed run's workers outlived it"
        elif step.expect == "no-run":
            assert code == 2 and err.startswith("medseg: error: ") and "no trained run for fold 0" in err, err
        else:
            assert code == 0, f"{what}: {err[-3000:]}"
        left = temporaries(work)
        if step.resume and step.expect != "no-run":
            assert not set(stale) & set(left), (
                f"{what}: the resume did not remove {sorted(set(stale) & set(left))}"
            )
        stale = [t for t in left if "/checkpoints/" in t]  # the next resume must remove these
        if step.kill_at in ("state_begin@1", "state_write@1"):
            assert stale, f"{what}: a kill inside a checkpoint write leaves its temporary file"
        for run in _runs(work):  # every checkpoint on disk loads (hash verified)
            for checkpoint in sorted((run / "checkpoints").glob("[!.]*.safetensors")):
                _state(checkpoint)
        resumable = [r for r in _runs(work) if (r / "checkpoints" / "latest.safetensors").is_file()]
        if resumable:  # one run holds a latest checkpoint, and it never goes back in time
            (run,) = resumable
            epoch = _state(run / "checkpoints" / "latest.safetensors")["trainer"]["epoch"]
            assert epoch >= latest_epoch, what
            latest_epoch = epoch
    assert kills == sum(step.expect == "killed" for step in CHAIN) >= 10
    assert temporaries(work) == []  # every leftover removed by a later resume

    (resumed,) = [r for r in _runs(work) if (r / "checkpoints" / "latest.safetensors").is_file()]
    a = _state(reference / "checkpoints" / "latest.safetensors")
    b = _state(resumed / "checkpoints" / "latest.safetensors")
    assert a["trainer"]["epoch"] == b["trainer"]["epoch"] == EPOCHS
    ta, tb = (
        _tensors({"weights": a["weights"], "toolbox": a["toolbox"]}),
        _tensors({"weights": b["weights"], "toolbox": b["toolbox"]}),
    )
    assert ta.keys() == tb.keys()
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []  # bit-identical weights and optimiser state
    pd.testing.assert_frame_equal(_metrics(reference), _metrics(resumed))
