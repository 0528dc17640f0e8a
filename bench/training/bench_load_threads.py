"""Training-step time on a loaded CPU versus the number of torch threads (why a loaded demo is slow).

Run: .venv/bin/python bench/training/bench_load_threads.py [--repeats 3] [--steps 12]

The demo's U-Net (width 16, 3 stages, patch 40x56x40, batch 2, the run's autocast) is timed with 1 and
with all torch threads, on the quiet machine and under an artificial 2x load (one busy process per
core, as bench_robustness.py makes it). The contenders alternate inside one run; each timing is the
median of ``--steps`` steps; min and median over ``--repeats`` are printed with their ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_robustness import load

from medseg.data.planning import Candidate
from medseg.nets import network_entry
from medseg.training.device import resolve_amp
from medseg.training.step_timing import measure_step_seconds


def main() -> None:
    """Alternate thread counts under each load; print min / median seconds per step and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    cand = Candidate.build(network_entry("unet"), 16, [40, 56, 40], 2, [1.0, 1.0, 1.0], 2)
    amp = resolve_amp("auto", torch.device("cpu"))
    full = torch.get_num_threads()
    print(f"{cand.label()}, amp {amp}, threads 1 vs {full}")
    for factor in (1, 2):
        times: dict[int, list[float]] = {1: [], full: []}
        with load(factor):
            for _ in range(args.repeats):
                for threads in (1, full):
                    torch.set_num_threads(threads)
                    times[threads].append(measure_step_seconds(cand, 1, 3, steps=args.steps, amp=amp))
        torch.set_num_threads(full)
        one, many = times[1], times[full]
        print(
            f"load {factor}x: 1 thread min {min(one):.3f} median {statistics.median(one):.3f} s/step | "
            f"{full} threads min {min(many):.3f} median {statistics.median(many):.3f} s/step | "
            f"1-thread / {full}-thread median {statistics.median(one) / statistics.median(many):.2f}x"
        )


if __name__ == "__main__":
    main()
