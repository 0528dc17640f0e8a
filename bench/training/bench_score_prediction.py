"""Score prediction on recorded real training curves: the prediction against the naive "best so far".

Run: .venv/bin/python bench/training/bench_score_prediction.py [--markdown] [CURVE_OR_GLOB ...]

Curves: every ``bench/training/results/*_metrics.csv`` (metrics.csv of real runs: CPU runs on Task04
Hippocampus, GPU runs of ``gpu_curves.py``, the planner calibration runs), plus any metrics.csv
files or globs given. A curve needs at least ``MIN_VALIDATIONS`` validations (shorter ones cannot be
cut at 25 % into a usable prefix) and is listed as skipped otherwise.

For each curve and each observed fraction (25 %, 50 % of its validations) the predictor of
:func:`medseg.training.score_prediction.predict_scores` sees only the validations so far and the
run's length, and predicts the final score: the mean of the run's last 3 validation scores (damping
single-epoch noise). The peer is the naive "best score so far". Reported per fraction: mean absolute
error of both, how often a band was shown (while the curve is climbing or has fallen off its plateau
the predictor says "too early" and shows the naive estimate, without a band) and how often the final
score lies inside the shown 80 % band, on the development curves (the ones the method was shaped
and its constants chosen on, ``DEVELOPMENT_CURVES``) and on the held-out curves separately.
``--markdown`` prints the docs/benchmarks.md table.
"""

from __future__ import annotations

import argparse
import csv
import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medseg.training.score_prediction import DEVELOPMENT_CURVES, naive_estimate, predict_scores

RESULTS = Path(__file__).resolve().parent / "results"
FRACTIONS = (0.25, 0.5)
MIN_VALIDATIONS = 12


@dataclass
class Curve:
    """One recorded run: validation epochs (1-based), scores, mean epoch seconds, planned epochs."""

    name: str
    epochs: np.ndarray
    scores: np.ndarray
    seconds: float
    total: int


def load_curve(path: Path) -> Curve:
    """A metrics.csv as a :class:`Curve` (curves recorded with 0-based epochs are shifted to 1-based)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    all_epochs = np.array([float(r["epoch"]) for r in rows])
    shift = 1.0 if all_epochs.min() == 0 else 0.0
    scored = [r for r in rows if r.get("val_score") not in (None, "")]
    epochs = np.array([float(r["epoch"]) for r in scored]) + shift
    scores = np.array([float(r["val_score"]) for r in scored])
    seconds = float(np.mean([float(r["epoch_time"]) for r in rows]))
    # a run's own metrics.csv (WORK/experiments/<trainer>/<run>/metrics.csv) is named by its work folder
    name = path.stem.removesuffix("_metrics") if path.stem != "metrics" else path.parents[3].name
    return Curve(name, epochs, scores, seconds, int(all_epochs.max() + shift))


def evaluate(curve: Curve, fraction: float) -> dict[str, float]:
    """Prediction, band and naive estimate after ``fraction`` of the curve's validations."""
    n = max(2, round(len(curve.epochs) * fraction))
    p = predict_scores(curve.epochs[:n], curve.scores[:n], curve.total, curve.seconds)
    final = float(curve.scores[-3:].mean())
    naive = naive_estimate(curve.scores[:n])
    covered = p.has_band and p.lower is not None and p.upper is not None and p.lower <= final <= p.upper
    return {
        "n": n,
        "epoch": float(curve.epochs[n - 1]),
        "pred": p.predicted_final,
        "final": final,
        "naive": naive,
        "lower": p.lower if p.lower is not None else np.nan,
        "upper": p.upper if p.upper is not None else np.nan,
        "covered": float(covered),
        "fallback": float(p.method == "best_so_far"),
        "err": abs(p.predicted_final - final),
        "naive_err": abs(naive - final),
    }


def curve_paths(extra: list[str]) -> list[Path]:
    """The recorded curves plus the given files/globs, without duplicates."""
    paths = sorted(RESULTS.glob("*_metrics.csv"))
    for item in extra:
        paths += [Path(p) for p in sorted(glob.glob(item, recursive=True))] or [Path(item)]
    seen: set[Path] = set()
    return [p for p in paths if not (p.resolve() in seen or seen.add(p.resolve()))]


def main() -> None:
    """Evaluate every curve at 25 % and 50 % of training and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", nargs="*", help="extra metrics.csv files or globs")
    parser.add_argument("--markdown", action="store_true", help="print the docs/benchmarks.md table")
    args = parser.parse_args()
    curves, skipped = [], []
    for path in curve_paths(args.curves):
        curve = load_curve(path)
        (curves if len(curve.epochs) >= MIN_VALIDATIONS else skipped).append(curve)
    print(f"{'curve':<36} {'set':<5} {'seen':>5} {'pred':>7} {'band':>17} {'final':>7} {'naive':>7}")
    results: dict[tuple[str, float], list[dict[str, float]]] = {}
    for curve in curves:
        group = "dev" if curve.name in DEVELOPMENT_CURVES else "held"
        for fraction in FRACTIONS:
            r = evaluate(curve, fraction)
            results.setdefault((group, fraction), []).append(r)
            band = "(too early)" if r["fallback"] else f"[{r['lower']:.3f}, {r['upper']:.3f}]"
            print(
                f"{curve.name:<36} {group:<5} {int(r['n']):>5} {r['pred']:>7.4f} {band:>17} {r['final']:>7.4f} "
                f"{r['naive']:>7.4f}"
            )
    for curve in skipped:
        print(f"skipped {curve.name}: {len(curve.epochs)} validations (< {MIN_VALIDATIONS})")
    print()
    rows = []
    for group in ("dev", "held"):
        for fraction in FRACTIONS:
            rs = results.get((group, fraction), [])
            if not rs:
                continue
            shown = len(rs) - int(sum(r["fallback"] for r in rs))
            rows.append(
                (
                    group,
                    fraction,
                    len(rs),
                    np.mean([r["err"] for r in rs]),
                    np.mean([r["naive_err"] for r in rs]),
                    int(sum(r["covered"] for r in rs)),
                    shown,
                )
            )
    for group, fraction, n, err, naive, covered, shown in rows:
        print(
            f"{group:<5} at {fraction:.0%}: {n} curves, MAE prediction {err:.4f} vs naive {naive:.4f}; band shown "
            f"{shown}/{n} (else 'too early': the naive estimate), final inside it {covered}/{shown}"
        )
    if args.markdown:
        print(
            "\n| curves | observed | MAE prediction | MAE naive best-so-far | band shown | final inside the 80 % band |"
        )
        print("|---|---|---|---|---|---|")
        for group, fraction, n, err, naive, covered, shown in rows:
            label = "development" if group == "dev" else "held out"
            print(
                f"| {label} ({n}) | {fraction:.0%} | {err:.4f} | {naive:.4f} | {shown}/{n} | {covered}/{shown} |"
            )


if __name__ == "__main__":
    main()
