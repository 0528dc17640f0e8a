"""Exact resume after SIGKILL, and atomic checkpoint writes under SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from medseg.io.state import load_state

JOB = Path(__file__).with_name("resume_job.py")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(JOB), *args], capture_output=True, text=True, timeout=300, encoding="utf-8"
    )


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    state, _ = load_state(folder / "checkpoints" / "latest.safetensors")
    return {**state["weights"], **{f"net.{k}": v for k, v in state["toolbox"]["network"].items()}}


def test_killed_and_resumed_run_is_bit_identical_to_a_straight_run(tmp_path: Path) -> None:
    straight = _run(str(tmp_path / "a"), "straight")
    assert straight.returncode == 0, straight.stderr
    killed = _run(str(tmp_path / "b"), "kill", "7")  # 3 steps per epoch: dies inside epoch 3
    assert killed.returncode == -signal.SIGKILL
    resumed = _run(str(tmp_path / "b"), "resume")
    assert resumed.returncode == 0, resumed.stderr
    a = _weights(Path(straight.stdout.strip().splitlines()[-1]))
    b = _weights(Path(resumed.stdout.strip().splitlines()[-1]))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    state_a, _ = load_state(
        Path(straight.stdout.strip().splitlines()[-1]) / "checkpoints" / "latest.safetensors"
    )
    state_b, _ = load_state(
        Path(resumed.stdout.strip().splitlines()[-1]) / "checkpoints" / "latest.safetensors"
    )
    assert state_a["trainer"]["epoch"] == state_b["trainer"]["epoch"] == 4
    assert state_a["trainer"]["callbacks"] == state_b["trainer"]["callbacks"]


def test_sigkill_during_saves_never_leaves_an_unloadable_checkpoint(tmp_path: Path) -> None:
    latest = tmp_path / "latest.safetensors"
    for delay in (0.9, 1.3, 1.7):
        proc = subprocess.Popen([sys.executable, str(JOB), str(tmp_path), "saveloop"])
        deadline = time.time() + 60
        while not latest.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state, _ = load_state(latest)
        assert state["model"]["w"].shape == (2_000_000,)
        assert float(state["model"]["w"][0]) == state["step"]
