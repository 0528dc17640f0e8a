"""Robust step times for every candidate from a few measurements: probe, fit, confirm.

Measuring all candidates costs too much and one noisy measurement must not decide a plan (on a
shared machine single timings vary 2-3x). So:

1. *Probe*: measure a few candidates spread over the cost range (``PROBES``), each timing itself a
   median of several steps (the step timer's job).
2. *Fit*: ``log(seconds) = a + b * log(cost)`` by Theil-Sen (the median of pairwise slopes), which a
   minority of outliers cannot move; every candidate gets a predicted time.
3. *Confirm*: the finalists are measured too and the line is refitted with every timing. A finalist
   whose timing agrees with the line (within ``AGREEMENT``) is scored by the line — less noisy than
   any single timing, so two runs on one machine score alike; one that disagrees is measured once
   more and scored by the median of (line, both timings): a real outlier (a network that is slower
   than its cost says) still counts.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

from medseg.data.planning.candidates import Candidate

StepTimer = Callable[[Candidate], float]
PROBES = 6
AGREEMENT = 1.5


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
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(len(xs)) for j in range(i + 1, len(xs))
              if xs[j] != xs[i]]
    slope = statistics.median(slopes) if slopes else 0.0
    intercept = statistics.median(y - slope * x for x, y in zip(xs, ys, strict=True))
    return intercept, slope


class StepTimeModel:
    """Measured and predicted seconds per step of candidates (see the module docstring)."""

    def __init__(self, timer: StepTimer) -> None:
        self.timer = timer
        self.measured: dict[str, list[float]] = {}
        self.confirmed: dict[str, float] = {}
        self._by_key: dict[str, Candidate] = {}
        self.intercept = 0.0
        self.slope = 1.0
        self.spent = 0.0

    def measure(self, candidate: Candidate) -> float:
        """One timing of ``candidate`` (recorded; ``spent`` counts what measuring cost)."""
        seconds = float(self.timer(candidate))
        key = _key(candidate)
        self._by_key[key] = candidate
        self.measured.setdefault(key, []).append(seconds)
        self.spent += seconds * 6
        return seconds

    def fit(self, probes: Sequence[Candidate]) -> None:
        """Measure ``probes`` and fit the log-log line."""
        for cand in probes:
            if _key(cand) not in self.measured:
                self.measure(cand)
        points = [(math.log(max(self._by_key[k].cost(), 1.0)), math.log(max(statistics.median(t), 1e-6)))
                  for k, t in self.measured.items()]
        self.intercept, self.slope = theil_sen([p[0] for p in points], [p[1] for p in points])

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
