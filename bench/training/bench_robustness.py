"""Robustness benchmark: the automatic plan and its held-out Dice on a quiet and a loaded machine, at
several budgets, for today's planner and the one before it, side by side.

Run: .venv/bin/python bench/training/bench_robustness.py --cells all [--old-src /work/wt/old/src]
     .venv/bin/python bench/training/bench_robustness.py --cells demo-1x demo-2x hippo-1200-1x

Cells (each alone on the machine; the load, when asked, is one busy process per core, started and
stopped by this script):
  demo-<load>            ``medseg demo`` (480 s budget, 32 training cases of the embedded sample, 8 held out)
  demo-<budget>-<load>   the same with ``--time-budget`` seconds (0.5x: 240, 2x: 960)
  hippo-<budget>-<load>  ``medseg run-all`` on the 208 Task04 cases, fold 0 of 5, ``--time-budget``
                         seconds; held-out Dice = the 42 validation cases of the fold
Both planners run through their own command line (``--old-src``: a checkout of the commit before the
new planner, e.g. ``git worktree add /work/wt/old 56a7613``). Results are appended to
``results/robustness.jsonl``; ``--table`` prints the table of every recorded cell.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results" / "robustness.jsonl"
CELLS = [
    "demo-1x",
    "demo-2x",
    "demo-240-1x",
    "demo-960-1x",
    "hippo-1200-1x",
    "hippo-1200-2x",
    "hippo-600-1x",
    "hippo-2400-1x",
]
BUSY = "import itertools\nx = 1.0\nfor _ in itertools.count():\n    x = x * 1.0000001 + 1e-9\n"


@contextmanager
def load(factor: int):
    """``factor - 1`` busy processes per core (2x = one per core) for the duration of the block."""
    procs = [
        subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range((factor - 1) * (os.cpu_count() or 2))
    ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def _medseg(src: Path, *args: str, log: Path) -> tuple[int, float]:
    env = dict(os.environ, PYTHONPATH=str(src), MEDSEG_SHARED_DATA=str(SHARED))
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(
            [sys.executable, "-m", "medseg.cli.main", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        ).returncode
    return code, time.perf_counter() - start


def _plan_line(work: Path) -> str:
    for name in ("config.json", "plan.json"):
        path = work / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if "spatial_config" in data:
                return (
                    f"patch {data['spatial_config']['patch_size']}, batch {data['training']['batch_size']}, "
                    f"features {(data['model']['params'] or {}).get('features_base')}, "
                    f"{len((data['model']['params'] or {}).get('pool_strides', [])) + 1} stages"
                )
            net = data["network"]["params"]
            return (
                f"patch {data['patch_size']}, batch {data['batch_size']}, features {net.get('features_base')}, "
                f"{len(net.get('pool_strides', [])) + 1} stages"
            )
    return "?"


def run_cell(cell: str, planner: str, src: Path, work_root: Path) -> dict[str, Any]:
    """Run one cell with one planner; returns the record (also appended to RESULTS)."""
    kind, *rest = cell.split("-")
    factor = int(rest[-1].rstrip("x"))
    work = work_root / f"{planner}-{cell}"
    log = work_root / f"{planner}-{cell}.log"
    work_root.mkdir(parents=True, exist_ok=True)
    with load(factor):
        if kind == "demo":
            budget = ["--time-budget", rest[0]] if len(rest) == 2 else []
            code, seconds = _medseg(src, "demo", "--out", str(work), *budget, log=log)
            text = log.read_text(encoding="utf-8", errors="replace")
            match = re.search(r"mean foreground\S*\s*[│|]\s*\S*?([0-9.]+)", text)
            dice = float(match.group(1)) if match else float("nan")
            plan = _plan_line(work)
        else:
            budget = rest[0]
            code, seconds = _medseg(
                src,
                "run-all",
                str(SHARED / "Task04_Hippocampus"),
                "-o",
                str(work),
                "--folds",
                "0",
                "--time-budget",
                budget,
                log=log,
            )
            summary = work / "evaluation" / "cv_summary.json"
            means = json.loads(summary.read_text(encoding="utf-8"))["mean"] if summary.is_file() else {}
            dices = [v for k, v in means.items() if k.endswith("/dice")]
            dice = sum(dices) / len(dices) if dices else float("nan")
            plan = _plan_line(work)
    commit = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    record = {
        "cell": cell,
        "planner": planner,
        "commit": commit,
        "exit": code,
        "wall_s": round(seconds, 1),
        "mean_dice": dice,
        "plan": plan,
        "time": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return record


def table() -> None:
    """Print every recorded cell, today's planner beside the previous one."""
    records = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"{'cell':16s} {'planner':9s} {'commit':8s} {'Dice':>7s} {'wall s':>7s}  plan")
    for r in sorted(records, key=lambda r: (r["cell"], r["planner"], r["time"])):
        print(
            f"{r['cell']:16s} {r['planner']:9s} {r.get('commit', ''):8s} {r['mean_dice']:7.4f} "
            f"{r['wall_s']:7.0f}  {r['plan']}"
        )


def main() -> None:
    """Run the requested cells, alternating the two planners cell by cell."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="*", default=[])
    parser.add_argument("--planners", nargs="*", default=["new", "old"])
    parser.add_argument("--old-src", type=Path, default=Path("/work/wt/old/src"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_robustness"))
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    cells = CELLS if args.cells == ["all"] else args.cells
    for cell in cells:
        for planner in args.planners:
            src = ROOT / "src" if planner == "new" else args.old_src
            record = run_cell(cell, planner, src, args.work)
            print(json.dumps(record), flush=True)
    if args.table or not cells:
        table()


if __name__ == "__main__":
    main()
