"""What every peer script of the race shares (standard library only: it runs in every peer's venv).

A peer script is run by ``race.py`` (or by hand) as::

    PEER_VENV/bin/python bench/peers/run_PEER.py --task hippocampus --budget 900 --out RUN_DIR

It converts the training cases of the fixed split into the peer's own layout, lets the peer plan,
preprocess and train until the wall-clock budget is spent (the peer's own time budget where it has
one, else :func:`run_until`, a watchdog that terminates the training process group at the deadline),
predicts the test cases with the peer's latest/best checkpoint into ``RUN_DIR/predictions/`` and
writes ``RUN_DIR/run.json`` (:class:`Report`). Scoring is not done here: ``race.py`` scores every
peer's predictions with medseg's Evaluator, the same way for all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: seconds between SIGTERM and SIGKILL when the watchdog stops a peer
KILL_GRACE_S = 20.0
TASKS = ("hippocampus", "drive")


@dataclass(frozen=True)
class Case:
    """One case of the split: its id and files (``mask`` is DRIVE's field-of-view mask)."""

    case_id: str
    image: Path
    label: Path
    mask: Path | None = None


@dataclass(frozen=True)
class Task:
    """A race task: the data folder, its split and what the peers need to know about it."""

    name: str
    data: Path
    train: list[Case]
    test: list[Case]
    spatial_dims: int
    #: label name -> value in the files (DRIVE's vessel label is stored as 255)
    labels: dict[str, int]

    @property
    def num_classes(self) -> int:
        """Network outputs including the background."""
        return len(self.labels)


def shared_data() -> Path:
    """``$MEDSEG_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _case(task: str, data: Path, case_id: str) -> Case:
    if task == "hippocampus":
        return Case(case_id, data / "imagesTr" / f"{case_id}.nii.gz", data / "labelsTr" / f"{case_id}.nii.gz")
    return Case(
        case_id,
        data / "images" / f"{case_id}_training.tif",
        data / "1st_manual" / f"{case_id}_manual1.gif",
        data / "mask" / f"{case_id}_training_mask.gif",
    )


def load_task(
    name: str, data_root: Path | None = None, train_cases: int | None = None, test_cases: int | None = None
) -> Task:
    """The task with its fixed split (``split_NAME.json``); ``*_cases`` keep the first N (smoke runs)."""
    if name not in TASKS:
        raise SystemExit(f"error: task '{name}' is unknown; valid choices: {', '.join(TASKS)}")
    split = json.loads((HERE / f"split_{name}.json").read_text(encoding="utf-8"))
    data = (data_root or shared_data()) / split["source"]
    if not data.is_dir():
        raise SystemExit(f"error: {data}: data folder not found (set MEDSEG_SHARED_DATA or --data-root)")
    train = [_case(name, data, c) for c in split["train"][:train_cases]]
    test = [_case(name, data, c) for c in split["test"][:test_cases]]
    for case in train + test:
        for path in (case.image, case.label):
            if not path.is_file():
                raise SystemExit(f"error: {path}: file of case '{case.case_id}' not found")
    if name == "hippocampus":
        return Task(name, data, train, test, 3, {"background": 0, "anterior": 1, "posterior": 2})
    return Task(name, data, train, test, 2, {"background": 0, "vessel": 255})


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every peer script shares (peers add their own flags)."""
    p = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    p.add_argument("--task", choices=TASKS, default="hippocampus")
    p.add_argument(
        "--budget",
        type=float,
        required=True,
        help="wall-clock seconds for conversion + planning + preprocessing + training",
    )
    p.add_argument("--out", type=Path, required=True, help="run folder (emptied first)")
    p.add_argument(
        "--data-root",
        type=Path,
        help="folder holding Task04_Hippocampus/ and DRIVE/ "
        "(default: $MEDSEG_SHARED_DATA, else ../shared/data)",
    )
    p.add_argument("--train-cases", type=int, help="use only the first N training cases (smoke runs)")
    p.add_argument("--test-cases", type=int, help="predict only the first N test cases (smoke runs)")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="shorten what the budget cannot shorten (e.g. nnU-Net's 250-iteration epochs) to "
        "check the script end to end in a minute or two; never for results",
    )
    return p


def prepare_out(out: Path) -> None:
    """Empty ``out`` (a previous run's files must not be scored as this run's)."""
    import shutil

    if out.exists():
        shutil.rmtree(out)
    (out / "predictions").mkdir(parents=True)


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON through a temporary file and a rename (never half-written)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file, or ``{}`` when it does not exist (yet)."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


@dataclass
class Outcome:
    """How a watched process ended."""

    stopped_by: str  # "finished" (exited by itself) or "watchdog" (terminated at the deadline)
    returncode: int | None
    seconds: float


def run_until(
    cmd: Sequence[Any],
    deadline: float,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Run ``cmd`` (stdout and stderr to ``log``) until it exits or ``time.monotonic()`` passes ``deadline``.

    At the deadline the whole process group (the peer's data-loader workers too) gets SIGTERM, then
    SIGKILL after :data:`KILL_GRACE_S`. A process that exits with an error before the deadline is
    reported as finished with its return code; the caller decides what that means.
    """
    start = time.monotonic()
    with log.open("ab") as sink:
        sink.write(f"$ {' '.join(map(str, cmd))}\n".encode())
        sink.flush()
        proc = subprocess.Popen(
            list(map(str, cmd)),
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            return Outcome("finished", code, time.monotonic() - start)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            sink.write(
                f"\n[watchdog] terminated at the wall-clock limit after {time.monotonic() - start:.1f} s\n".encode()
            )
            return Outcome("watchdog", proc.returncode, time.monotonic() - start)
        except BaseException:
            stop_group(proc)
            raise


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group of ``proc``, SIGKILL it if it is still alive after the grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # workers that outlived the leader (same group) too
        os.killpg(proc.pid, signal.SIGKILL)


def run_checked(
    cmd: Sequence[Any],
    log: Path,
    env: Mapping[str, str] | None = None,
    deadline: float | None = None,
    what: str = "",
) -> Outcome:
    """:func:`run_until` for a step that must finish (conversion, preprocessing, prediction)."""
    outcome = run_until(cmd, deadline if deadline is not None else time.monotonic() + 7 * 24 * 3600, log, env)
    if outcome.stopped_by == "watchdog":
        raise PeerError(f"{what or cmd[0]} did not finish within the budget (log: {log})")
    if outcome.returncode != 0:
        raise PeerError(
            f"{what or cmd[0]} failed with exit code {outcome.returncode}: {last_line(log)} (log: {log})"
        )
    return outcome


def last_line(log: Path) -> str:
    """The last non-empty line of a log file (for one-line error messages)."""
    try:
        lines = [
            ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()
        ]
    except FileNotFoundError:
        return ""
    return lines[-1][:300] if lines else ""


class PeerError(RuntimeError):
    """A peer step failed; the message is one line and names the log."""


class Progress:
    """Steps done so far, written by a training process to a JSON file that outlives it (watchdog)."""

    def __init__(self, path: Path, every_s: float = 5.0) -> None:
        self.path = path
        self.every_s = every_s
        self._last = 0.0
        self.data: dict[str, Any] = {"steps": 0, "epochs": 0}

    def update(self, force: bool = False, **values: Any) -> None:
        """Record ``values`` (e.g. ``steps=``, ``epochs=``); written at most every ``every_s`` seconds."""
        self.data.update(values)
        now = time.monotonic()
        if force or now - self._last >= self.every_s:
            write_json_atomic(self.path, self.data)
            self._last = now


@dataclass
class Report:
    """``run.json``: what one peer run did (the scores are added by race.py)."""

    peer: str
    version: str
    task: str
    budget_s: float
    n_train: int
    n_test: int
    smoke: bool
    steps: int | None = None
    epochs: int | None = None
    checkpoint: str | None = None
    stopped_by: str | None = None
    wall_prep_s: float | None = None
    wall_train_s: float | None = None
    wall_predict_s: float | None = None
    error: str | None = None
    notes: str = ""

    @property
    def wall_budgeted_s(self) -> float | None:
        """Conversion + planning + preprocessing + training: what the budget limits."""
        if self.wall_prep_s is None:
            return None
        return round(self.wall_prep_s + (self.wall_train_s or 0.0), 1)

    def write(self, out: Path) -> None:
        """Write ``out/run.json``."""
        data = dict(self.__dict__)
        data["wall_budgeted_s"] = self.wall_budgeted_s
        data["python"] = sys.version.split()[0]
        write_json_atomic(out / "run.json", data)


def package_version(name: str) -> str:
    """The installed version of a distribution, or ``"?"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def link(src: Path, dst: Path) -> None:
    """Symlink ``dst`` -> ``src`` (the shared data is never copied or modified)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    dst.symlink_to(src.resolve())


def own_command(script: str, *args: Any) -> list[str]:
    """``[python, bench/peers/SCRIPT, *args]`` with this interpreter (a child stage of a peer script)."""
    return [sys.executable, str(HERE / script), *map(str, args)]


#: help of the internal ``--stage`` flag of scripts whose training runs as a child process
STAGE_HELP = "internal: 'train' is the child process that the watchdog runs"


def case_flags(args: argparse.Namespace) -> list[Any]:
    """The data flags of ``args`` again, for a child stage of the same script."""
    flags: list[Any] = []
    if args.data_root is not None:
        flags += ["--data-root", args.data_root]
    for flag, value in (("--train-cases", args.train_cases), ("--test-cases", args.test_cases)):
        if value is not None:
            flags += [flag, value]
    if args.smoke:
        flags.append("--smoke")
    return flags


def main_guard(run: Any, report: Report, out: Path) -> int:
    """Run ``run(report)``; a :class:`PeerError` is recorded in ``run.json`` and printed as one line."""
    try:
        run(report)
    except PeerError as exc:
        report.error = str(exc)
        report.write(out)
        print(f"{report.peer}: error: {exc}", file=sys.stderr)
        return 1
    report.write(out)
    print(
        f"{report.peer}: {report.steps} steps, stopped by {report.stopped_by}, checkpoint {report.checkpoint}; "
        f"{report.wall_budgeted_s} s budgeted wall, {report.wall_predict_s} s predicting -> {out / 'run.json'}"
    )
    return 0
