"""Predict a run's final validation score from its curve so far, with a calibrated 80 % band.

Method ("damped plateau trend"), chosen on recorded real curves (bench/training/bench_score_prediction.py,
docs/benchmarks.md):

1. The plateau: the validation scores from the first one that reaches ``PLATEAU_SHARE`` (90 %) of the
   best so far. Before the plateau has ``MIN_POINTS`` scores the curve is still climbing, and when
   the median of the last ``MIN_POINTS`` scores is below that share the run has fallen off its
   plateau (a collapse to the all-background solution, which runs can leave again); in both cases
   nothing can be extrapolated honestly: the estimate is the naive "best so far", without a band
   (``method == "best_so_far"``).
2. A robust straight line through the plateau against log(epoch) (Theil-Sen: single noisy
   validations do not tilt it). Its value at the last epoch is the current ``level``.
3. The trend continued to the last epoch of the run adds ``slope x log(T / e)``; curves keep bending
   (they saturate), so only ``DAMPING`` (0.3) of that is added, never a negative amount, and never
   past ``ceiling`` (Dice: 1). The estimate is at least the best score so far: with a decaying
   learning rate every recorded run ended above the best it had reached at 25 % and at 50 %.
4. The 80 % band is ``+- BAND_Z x sqrt(noise^2 + (BAND_GAP x gap x log(T / e))^2)``: ``noise`` is the
   robust spread of the plateau around its line (MAD), ``gap`` the distance from the level to the
   ceiling (for an unbounded score, the level's magnitude: a negated loss heads for 0), so the band
   is wide while much of the run and of the score range is left, even on a flat (stuck) plateau;
   both constants were fitted on the development curves for 80 % coverage of the final score (the
   mean of the last 3 scores) from 20 % to 60 % of training.
5. ``settle_epoch``: the first epoch at which the predicted curve is inside the band, i.e. where
   training could stop at little cost; the ETC (estimated time to completion) is the time until then.

Development curves (the constants above): ``DEVELOPMENT_CURVES``; every other recorded curve is
held out and only measured. MIP Candy's quotient regression (a rational function fitted to the whole
curve) was measured first and lost to the naive estimate (MAE 0.052 vs 0.023 at 25 % of training,
band coverage 1 in 5), so it is not used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

PLATEAU_SHARE = 0.9
MIN_POINTS = 5
DAMPING = 0.3
BAND_Z = 0.44
BAND_GAP = 0.2
#: the recorded curves (bench/training/results/<name>_metrics.csv) the method was shaped on; the ISBI
#: and DRIVE curves were first held out, and moved here when they changed it (ISBI's stuck plateau:
#: steps 3 and 4; DRIVE's collapse to 0 and recovery: the "fallen off the plateau" rule of step 1)
DEVELOPMENT_CURVES = (
    "hippocampus_fold0",
    "sgd_f32_seed0_gpu",
    "adamw_f32_seed0_gpu",
    "isbi2012_cpu_30ep",
    "drive_cpu_30ep",
)


@dataclass(frozen=True)
class ScorePrediction:
    """What the curve so far says about the run's final validation score."""

    predicted_final: float
    lower: float | None
    upper: float | None
    settle_epoch: int
    etc_seconds: float
    method: Literal["trend", "best_so_far"]
    level: float

    @property
    def has_band(self) -> bool:
        """Whether an 80 % band was estimated (not in the ``best_so_far`` fallback)."""
        return self.lower is not None and self.upper is not None


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Median of the pairwise slopes; intercept through the medians (Theil-Sen, as ``scipy.stats.theilslopes``)."""
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx > 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0
    return slope, float(np.median(y) - slope * np.median(x))


def predict_scores(
    epochs: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    total_epochs: int,
    epoch_seconds: float,
    *,
    ceiling: float = 1.0,
) -> ScorePrediction:
    """Predict the final validation score of a run of ``total_epochs`` (epochs counted from 1).

    ``epochs``/``scores``: the validations so far (epoch numbers, higher-is-better scores);
    ``epoch_seconds``: the mean duration of an epoch (for the ETC); ``ceiling``: the largest possible
    score (1 for Dice; ``inf`` for the negated loss). See the module docstring for the method.
    """
    e = np.asarray(epochs, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if len(e) == 0 or len(e) != len(s):
        raise ValueError(f"need as many epochs as scores (at least one), got {len(e)} and {len(s)}")
    e = np.maximum(e, 1.0)  # log-time needs epochs >= 1
    current, best = float(e[-1]), float(s.max())
    horizon = max(float(total_epochs), current)
    remaining_s = max(0.0, horizon - current) * float(epoch_seconds)
    threshold = PLATEAU_SHARE * best if best > 0 else best - (1 - PLATEAU_SHARE) * abs(best)
    start = int(np.argmax(s >= threshold))
    recent = float(np.median(s[-MIN_POINTS:]))
    if len(e) - start < MIN_POINTS or recent < threshold:  # still climbing, or fallen off the plateau
        return ScorePrediction(best, None, None, int(horizon), remaining_s, "best_so_far", best)
    x, y = np.log(e[start:]), s[start:]
    slope, intercept = _theil_sen(x, y)
    level = intercept + slope * x[-1]
    ahead = math.log(horizon) - x[-1]
    trend = max(0.0, slope * ahead)
    predicted = min(max(level + DAMPING * trend, best), ceiling)
    residuals = y - (intercept + slope * x)
    noise = 1.4826 * float(np.median(np.abs(residuals - np.median(residuals))))
    gap = ceiling - level if math.isfinite(ceiling) else abs(level)
    half = BAND_Z * math.hypot(noise, BAND_GAP * max(0.0, gap) * ahead)
    lower, upper = predicted - half, min(predicted + half, ceiling)
    # first epoch where the predicted curve level + DAMPING * slope * log(e / current) reaches the band
    # (in log-epochs: a nearly flat slope puts the crossing past any float; it is capped at the horizon)
    log_settle = math.log(current)
    if slope > 0 and lower > level:
        log_settle += (lower - level) / (DAMPING * slope)
    settle_epoch = int(min(horizon, math.ceil(math.exp(min(log_settle, math.log(horizon))))))
    etc = max(0.0, settle_epoch - current) * float(epoch_seconds)
    return ScorePrediction(
        float(predicted), float(lower), float(upper), settle_epoch, etc, "trend", float(level)
    )


def naive_estimate(scores: Sequence[float] | np.ndarray) -> float:
    """The peer a prediction must beat: the best score seen so far."""
    return float(np.max(np.asarray(scores, dtype=np.float64)))
