"""Validation-score prediction by quotient (rational) regression, with an uncertainty band.

The score trajectory ``s(e)`` of a training run rises fast and saturates, which a rational function
``P(x) / Q(x)`` models well (a polynomial cannot saturate). We fit

    s(x) = (a_0 + a_1 x + ... + a_p x^p) / (1 + b_1 x + ... + b_p x^p),   x = epoch / last observed epoch

by the linearised least-squares problem ``s = P(x) - s * (Q(x) - 1)`` with a ridge penalty (well-posed
for few points), refined by robust non-linear least squares (soft-L1 loss, denominator coefficients
>= 0 so there is no pole ahead); choose the degree ``p`` from the data (the largest ``p`` with at least
4 points per coefficient, then the one with the smallest hold-out error on the last quarter of the
points), and estimate an uncertainty band by refitting on residual bootstraps. Epochs before the
score first reaches 10 % of its best (the all-background plateau) are left out. The prediction is
the maximum of the fitted curve over the remaining epochs, clipped to [recent level, ceiling] (a
run with a decaying learning rate does not fall below its last scores; Dice cannot pass 1), the
epoch where it is reached, and the estimated time to completion (ETC) from the mean epoch time.

Measured on real curves (bench/training/bench_score_prediction.py, docs/benchmarks.md): at 50 % of
training the error is on par with "best score so far"; at 25 % the extrapolation can overshoot, so
treat early predictions with their band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScorePrediction:
    """What the fitted trajectory says about the rest of the run."""

    predicted_best: float
    best_epoch: int
    lower: float
    upper: float
    etc_seconds: float
    degree: int
    rmse: float


def _design(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    numerator = np.stack([x**i for i in range(degree + 1)], axis=1)
    denominator = np.stack([-y * x**j for j in range(1, degree + 1)], axis=1)
    return np.concatenate([numerator, denominator], axis=1)


def _fit_linearised(x: np.ndarray, y: np.ndarray, degree: int, ridge: float) -> np.ndarray:
    a = _design(x, y, degree)
    penalty = ridge * np.eye(a.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(a.T @ a + penalty, a.T @ y)


def _fit(x: np.ndarray, y: np.ndarray, degree: int, ridge: float) -> np.ndarray:
    """Linearised ridge solution, refined by robust non-linear least squares.

    The linearised problem puts the noisy score on both sides (biased on noisy curves); the
    refinement minimises the real residuals with a soft-L1 loss (single noisy epochs weigh less) and
    keeps the denominator's coefficients >= 0, so the curve has no pole at x >= 0.
    """
    from scipy.optimize import least_squares

    start = _fit_linearised(x, y, degree, ridge)
    lower = np.r_[np.full(degree + 1, -np.inf), np.zeros(degree)]
    start = np.maximum(start, lower + 1e-9)

    def residuals(coef: np.ndarray) -> np.ndarray:
        value = _evaluate(coef, x, degree)
        return np.where(np.isfinite(value), value - y, 10.0)

    try:
        result = least_squares(residuals, start, bounds=(lower, np.inf), loss="soft_l1", f_scale=0.02)
    except ValueError:  # a degenerate start (e.g. non-finite): keep the linearised solution
        return start
    return np.asarray(result.x, dtype=np.float64)


def _evaluate(coef: np.ndarray, x: np.ndarray, degree: int) -> np.ndarray:
    num = sum(coef[i] * x**i for i in range(degree + 1))
    den = 1.0 + sum(coef[degree + j] * x**j for j in range(1, degree + 1))
    safe = np.where(np.abs(den) < 1e-6, np.nan, den)
    return np.asarray(num / safe, dtype=np.float64)


def _valid(curve: np.ndarray, y: np.ndarray) -> bool:
    """A usable extrapolation: finite (no pole) and within a plausible range of what was seen."""
    span = float(np.ptp(y)) + 1e-9
    return bool(np.all(np.isfinite(curve)) and curve.max() < y.max() + span and curve.min() > y.min() - 2 * span)


def fit_quotient(
    epochs: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray, horizon: float, ridge: float = 1e-4, max_degree: int = 3
) -> tuple[np.ndarray, int, float]:
    """Fit the rational model; returns ``(coefficients, degree, hold-out rmse)``.

    ``horizon`` scales epochs (use the last observed epoch + 1, so observations span ``[0, 1]``).
    """
    x = np.asarray(epochs, dtype=np.float64) / horizon
    y = np.asarray(scores, dtype=np.float64)
    n = len(x)
    if n < 4:
        raise ValueError(f"need at least 4 scores to fit a trajectory, got {n}")
    cut = max(3, round(n * 0.75))
    best: tuple[float, int] | None = None
    for degree in range(1, max_degree + 1):
        if 2 * degree + 1 > max(1, n // 4) and degree > 1:
            break
        if cut < n:
            coef = _fit(x[:cut], y[:cut], degree, ridge)
            pred = _evaluate(coef, x[cut:], degree)
            err = float(np.sqrt(np.mean((pred - y[cut:]) ** 2))) if np.all(np.isfinite(pred)) else np.inf
        else:
            err = 0.0
        # a higher degree must earn its extra coefficients: >= 20% lower hold-out error
        if best is None or err < 0.8 * best[0]:
            best = (err, degree)
    assert best is not None
    degree = best[1]
    return _fit(x, y, degree, ridge), degree, best[0]


def predict_scores(
    epochs: Sequence[float],
    scores: Sequence[float],
    total_epochs: int,
    epoch_seconds: float,
    *,
    bootstrap: int = 30,
    seed: int = 0,
    ceiling: float = 1.0,
) -> ScorePrediction:
    """Predict the best score reachable by ``total_epochs`` and when (with an 80% band).

    ``ceiling`` is the largest possible score (1 for Dice; pass ``inf`` for an unbounded score).
    """
    x_all = np.asarray(epochs, dtype=np.float64)
    y_all = np.asarray(scores, dtype=np.float64)
    # the warm-up plateau (e.g. Dice 0 while the network leaves the all-background solution) is not
    # part of the saturating trajectory and distorts the fit: start where 10% of the best is reached
    start = int(np.argmax(y_all >= 0.1 * y_all.max())) if y_all.max() > 0 else 0
    if len(x_all) - start < 4:
        start = max(0, len(x_all) - 4)
    x_obs, y = x_all[start:], y_all[start:]
    # the recent level (mean of the last 3 scores): with a decaying learning rate a run does not fall
    # below it, and a bounded score (Dice) cannot pass ``ceiling``
    recent = float(y[-3:].mean())
    # scale so the observed epochs span [0, 1]: the fit is well conditioned, the future is x > 1
    horizon = float(x_obs.max() + 1)
    coef, degree, holdout = fit_quotient(x_obs, y, horizon)
    # from the first fitted epoch on (before it, e.g. in the dropped plateau, the fit means nothing)
    future = np.arange(int(x_obs.min()), max(total_epochs, int(x_obs.max()) + 1), dtype=np.float64)
    curve = _evaluate(coef, future / horizon, degree)
    fitted = _evaluate(coef, x_obs / horizon, degree)
    if not _valid(curve, y):  # the rational fit exploded: fall back to the running best
        curve = np.full_like(future, y.max())
        fitted = np.full_like(y, y.mean())
    residuals = y - fitted
    rmse = float(np.sqrt(np.mean(residuals**2)))
    current = int(x_obs.max())
    ahead = future >= current
    rng = np.random.default_rng(seed)
    maxima = []
    for _ in range(bootstrap):
        y_boot = fitted + rng.choice(residuals, size=len(residuals), replace=True)
        c = _fit(x_obs / horizon, y_boot, degree, 1e-4)
        boot_curve = _evaluate(c, future / horizon, degree)
        if _valid(boot_curve, y):
            maxima.append(float(boot_curve[ahead].max()))
    best_epoch = current + int(np.nanargmax(curve[ahead]))
    predicted = float(np.clip(np.nanmax(curve[ahead]), recent, ceiling))
    maxima = [float(np.clip(m, recent, ceiling)) for m in maxima]
    lower, upper = (np.percentile(maxima, [10, 90]) if maxima else (predicted - rmse, predicted + rmse))
    lower = max(min(float(lower), predicted), recent - rmse)
    upper = min(max(float(upper), predicted), ceiling)  # the band contains the estimate
    etc = max(0, best_epoch - current) * float(epoch_seconds)
    return ScorePrediction(predicted, best_epoch, float(lower), float(upper), etc, degree, max(rmse, holdout))
