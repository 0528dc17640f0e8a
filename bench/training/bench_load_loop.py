"""The real training loop's pace on a quiet and a loaded CPU: loader workers x torch threads.

Run: .venv/bin/python bench/training/bench_load_loop.py [--load 1 2] [--repeats 2]

`bench_load_threads.py` times a bare step; this one runs ``medseg train`` itself (loader processes,
deep-supervision Dice+CE, validation) on the embedded sample with the demo's loaded plan (U-Net 16
base features, 4 stages, patch 40x56x40, batch 2), 4 epochs x 20 steps, for each combination of
``training.workers`` and torch threads (``training.cpu_threads``: every core, one, or ``auto``, which
measures both on steps 4-15 and keeps the faster, so epochs 2-4 show its choice), the contenders
alternating inside each repeat. The load is one busy process per core (``bench_robustness.load``). It prints, per
contender, the median training seconds per step of epochs 2-4 (validation excluded) with min and
median over the repeats, and the ratio to the default (2 workers, every core).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_robustness import load

from medseg.data.sample import sample_path

ROOT = Path(__file__).resolve().parents[2]
PLAN = ["--features-base", "16", "--patch-size", "40", "56", "40", "--batch-size", "2"]
STEPS = 20


def _medseg(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "medseg.cli.main", *args], env=env, capture_output=True, text=True, check=False
    )


def _pace(work: Path, workers: int, threads: int | str) -> float:
    """Median training s/step of epochs 2-4 of a fresh 4-epoch run in ``work``."""
    for old in work.glob("experiments/*/*"):
        subprocess.run(["rm", "-rf", str(old)], check=True)
    sets = [f"training.workers={workers}", f"training.cpu_threads={threads}"]
    args = ["train", "-o", str(work), "--fold", "0", "--epochs", "4", "--steps-per-epoch", str(STEPS)]
    done = _medseg(*args, *[a for s in sets for a in ("--set", s)])
    if done.returncode:
        raise SystemExit(f"medseg train failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    (metrics,) = work.glob("experiments/*/*/metrics.csv")
    rows = list(csv.DictReader(metrics.open(encoding="utf-8")))[1:]
    return statistics.median((float(r["epoch_time"]) - float(r["val_time"] or 0)) / STEPS for r in rows)


def main() -> None:
    """Alternate the contenders under each load; print min / median s/step and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_bench_load_loop"))
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    work = args.work
    if not (work / "config.json").is_file():
        done = _medseg("analyze", str(sample_path()), "-o", str(work), *PLAN)
        if done.returncode:
            raise SystemExit(f"medseg analyze failed:\n{done.stderr[-2000:]}")
    contenders: list[tuple[int, int | str]] = [
        (2, cores),
        (2, "auto"),
        (1, cores),
        (0, cores),
        (2, 1),
        (1, 1),
    ]
    for factor in args.load:
        paces: dict[tuple[int, int | str], list[float]] = {c: [] for c in contenders}
        with load(factor):
            for _ in range(args.repeats):
                for workers, threads in contenders:
                    paces[(workers, threads)].append(_pace(work, workers, threads))
        base = statistics.median(paces[contenders[0]])
        print(f"load {factor}x")
        for (workers, threads), values in paces.items():
            median = statistics.median(values)
            print(
                f"  workers {workers}, threads {threads}: min {min(values):.3f} median {median:.3f} s/step"
                f"  ({median / base:.2f}x the default)"
            )


if __name__ == "__main__":
    main()
