"""Robust step times for every candidate from a few measurements: probe, fit, confirm.

Measuring all candidates costs too much and one noisy measurement must not decide a plan (on a
shared machine single timings vary 2-3x). So:

1. *Probe*: measure a few candidates spread over the cost range (``PROBES``), cheapest first, each
   timing itself a median of several steps (the step timer's job). Probing stops once it has used
   its share of the budget (``limit_s``; at least two probes are always measured), so a machine 5x
   slower than usual spends the same seconds measuring, not 5x more.
2. *Fit*: ``seconds = overhead + cost / throughput`` by Theil-Sen (the median of pairwise slopes),
   which a minority of outliers cannot move; every candidate gets a predicted time. A step is a fixed
   overhead (optimiser, loss, memory-bound layers) plus work at the machine's throughput: on this
   2-core CPU, U-Nets of width 8/16/24/32 at 40x56x40 took 0.15/0.25/0.55/0.77 s. The former
   power law (``log seconds`` linear in ``log cost``) cannot bend from the flat overhead-bound end to
   the steep compute-bound end: through these four points it put width 16 at 0.35 s, 40 % too slow,
   inside the agreement band, and the planner then gave the demo width 32 with 420 steps (held-out
   Dice 0.82) instead of width 16 with ~1500 (0.87).
3. *Confirm*: the finalists are measured too and the line is refitted with every timing. A finalist
   whose timing agrees with the line (within ``AGREEMENT``) is scored by the line — less noisy than
   any single timing, so two runs on one machine score alike; one that disagrees is measured once
   more and scored by the median of (line, both timings): a real outlier (a network that is slower
   than its cost says) still counts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from medseg.data.planning.candidates import Candidate

StepTimer = Callable[[Candidate], float]
PROBES = 6
AGREEMENT = 1.5
#: what one timing costs, in step times (network build and warm-up step included), for the bookkeeping
STEPS_PER_TIMING = 5


def probe_set(candidates: Sequence[Candidate], probes: int = PROBES) -> list[Candidate]:
    """Up to ``probes`` candidates at evenly spaced cost ranks (cheapest and costliest included)."""
    ordered = sorted(candidates, key=lambda c: (c.cost(), c.label()))
    if len(ordered) <= probes:
        return ordered
    picks = sorted({round(i * (len(ordered) - 1) / (probes - 1)) for i in range(probes)})
    return [ordered[i] for i in picks]


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Intercept and slope of the Theil-Sen line through the points (robust to outliers)."""
    if len(xs) == 1:
        return ys[0], 0.0
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    slope = statistics.median(slopes) if slopes else 0.0
    intercept = statistics.median(y - slope * x for x, y in zip(xs, ys, strict=True))
    return intercept, slope


class StepTimeModel:
    """Measured and predicted seconds per step of candidates (see the module docstring)."""

    def __init__(self, timer: StepTimer, limit_s: float = float("inf")) -> None:
        self.timer = timer
        self.limit_s = limit_s
        self.measured: dict[str, list[float]] = {}
        self.confirmed: dict[str, float] = {}
        self._by_key: dict[str, Candidate] = {}
        self.overhead = 0.0
        self.per_cost = 1e-9
        self.spent = 0.0

    def measure(self, candidate: Candidate) -> float:
        """One timing of ``candidate`` (recorded; ``spent`` counts what measuring cost)."""
        start = time.perf_counter()
        seconds = float(self.timer(candidate))
        self.spent += max(time.perf_counter() - start, seconds * STEPS_PER_TIMING)
        key = _key(candidate)
        self._by_key[key] = candidate
        self.measured.setdefault(key, []).append(seconds)
        return seconds

    @property
    def exhausted(self) -> bool:
        """Whether measuring has used its share of the budget."""
        return self.spent >= self.limit_s

    def fit(self, probes: Sequence[Candidate]) -> None:
        """Measure ``probes`` (cheapest first, within the limit) and fit the line."""
        for cand in sorted(probes, key=lambda c: c.cost()):
            if len(self.measured) >= 2 and self.exhausted:
                break
            if _key(cand) not in self.measured:
                self.measure(cand)
        points = [(self._by_key[k].cost(), statistics.median(t)) for k, t in self.measured.items()]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        _, slope = theil_sen(xs, ys) if len(points) > 1 else (0.0, 0.0)
        if slope <= 0:  # one point, or timings that fell with cost (noise): time proportional to work
            self.overhead, self.per_cost = 0.0, statistics.median(y / max(x, 1.0) for x, y in points)
            return
        self.per_cost = slope
        self.overhead = max(0.0, float(statistics.median(y - slope * x for x, y in points)))

    def predicted(self, candidate: Candidate) -> float:
        """Seconds per step from the fitted line."""
        return max(self.overhead + self.per_cost * candidate.cost(), 1e-6)

    def describe(self) -> str:
        """The fitted line, for the plan's reasons."""
        return f"{self.overhead:.3g} s + {self.per_cost * 1e9:.3g} s per 1e9 cost"

    def confirm(self, candidate: Candidate) -> float:
        """Measure a finalist; a timing far from the prediction is re-measured (see the docstring)."""
        key = _key(candidate)
        if key in self.confirmed:
            return self.confirmed[key]
        predicted = self.predicted(candidate)
        first = self.measure(candidate)
        if 1 / AGREEMENT <= first / predicted <= AGREEMENT:
            self.refit()
            return self.predicted(candidate)
        second = self.measure(candidate)
        result = float(statistics.median([predicted, first, second]))
        self.confirmed[key] = result
        return result

    def refit(self) -> None:
        """Fit the line again through every candidate measured so far."""
        self.fit([])

    def seconds(self, candidate: Candidate) -> float:
        """The best estimate: a confirmed outlier's time, else the fitted line's."""
        return self.confirmed.get(_key(candidate), self.predicted(candidate))


def _key(candidate: Candidate) -> str:
    return candidate.model_dump_json()
