"""Robust step times for every candidate from a few measurements: probe, fit, confirm.

Measuring all candidates costs too much and one noisy measurement must not decide a plan (on a
shared machine single timings vary 2-3x). So:

1. *Probe*: measure a few candidates spread over the cost range (``PROBES``), cheapest first, each
   timing itself a median of several steps (the step timer's job). Probing stops once it has used
   its share of the budget (``limit_s``; at least two probes are always measured), so a machine 5x
   slower than usual spends the same seconds measuring, not 5x more.
2. *Fit*: ``log(seconds) = a + b * log(cost)`` by Theil-Sen (the median of pairwise slopes), which a
   minority of outliers cannot move, with the slope held to ``[MIN_SLOPE, MAX_SLOPE]`` (time grows
   with work: from overhead-bound to compute-bound); every candidate gets a predicted time.
3. *Confirm*: the finalists are measured too and the line is refitted with every timing. A finalist
   whose timing agrees with the line (within ``AGREEMENT``) is scored by the line — less noisy than
   any single timing, so two runs on one machine score alike; one that disagrees is measured once
   more and scored by the median of (line, both timings): a real outlier (a network that is slower
   than its cost says) still counts.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence

from medseg.data.planning.candidates import Candidate

StepTimer = Callable[[Candidate], float]
PROBES = 6
AGREEMENT = 1.5
MIN_SLOPE = 0.2
MAX_SLOPE = 1.1
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
        self.intercept = 0.0
        self.slope = 1.0
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
        """Measure ``probes`` (cheapest first, within the limit) and fit the log-log line."""
        for cand in sorted(probes, key=lambda c: c.cost()):
            if len(self.measured) >= 2 and self.exhausted:
                break
            if _key(cand) not in self.measured:
                self.measure(cand)
        points = [
            (math.log(max(self._by_key[k].cost(), 1.0)), math.log(max(statistics.median(t), 1e-6)))
            for k, t in self.measured.items()
        ]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        _, slope = theil_sen(xs, ys)
        self.slope = min(MAX_SLOPE, max(MIN_SLOPE, slope if len(points) > 1 else 0.6))
        self.intercept = float(statistics.median(y - self.slope * x for x, y in points))

    def predicted(self, candidate: Candidate) -> float:
        """Seconds per step from the fitted line."""
        return math.exp(self.intercept + self.slope * math.log(max(candidate.cost(), 1.0)))

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
