"""Score prediction (issue 6, item 5): error of the predicted score on recorded real training curves.

Run: .venv/bin/python bench/training/bench_score_prediction.py [curves...]

Default curves: every ``bench/training/results/*_metrics.csv`` (the validation curves of real runs:
the 60-minute CPU run on Task04 Hippocampus and the GPU runs of ``gpu_curves.py``). For each curve
and each observed fraction (25 %, 50 % of the epochs) the quotient regression of
:func:`medseg.training.score_prediction.predict_scores` sees only the epochs so far and predicts
the best score of the whole run. The error is taken against the run's final score (mean of the last
3 epochs, to damp single-epoch noise) and against its best score. The naive peer is "the best score
seen so far" (what a user has without a predictor). Prints one row per curve and fraction, then
the mean absolute errors.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from medseg.training.score_prediction import predict_scores

RESULTS = Path(__file__).resolve().parent / "results"


def load_curve(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Epochs, validation scores and mean epoch time of a metrics.csv (rows without a score skipped)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("val_score") not in (None, "")]
    epochs = np.array([float(r["epoch"]) for r in rows])
    scores = np.array([float(r["val_score"]) for r in rows])
    seconds = float(np.mean([float(r["epoch_time"]) for r in rows]))
    return epochs, scores, seconds


def main() -> None:
    """Evaluate every curve at 25 % and 50 % of training and print the errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.curves or sorted(RESULTS.glob("*_metrics.csv"))
    errors: dict[float, dict[str, list[float]]] = {f: {"final": [], "best": [], "naive": [], "covered": []} for f in (0.25, 0.5)}
    print(f"{'curve':<34} {'seen':>5} {'pred':>7} {'band':>15} {'final':>7} {'best':>7} {'naive':>7}")
    for path in paths:
        epochs, scores, seconds = load_curve(path)
        total = len(epochs)
        final = float(scores[-3:].mean())
        best = float(scores.max())
        for fraction in (0.25, 0.5):
            n = max(4, round(total * fraction))
            p = predict_scores(epochs[:n], scores[:n], total, seconds)
            naive = float(scores[:n].max())
            errors[fraction]["final"].append(abs(p.predicted_best - final))
            errors[fraction]["best"].append(abs(p.predicted_best - best))
            errors[fraction]["naive"].append(abs(naive - final))
            errors[fraction]["covered"].append(float(p.lower <= final <= p.upper))
            print(f"{path.stem:<34} {n:>5} {p.predicted_best:>7.4f} [{p.lower:.3f}, {p.upper:.3f}] "
                  f"{final:>7.4f} {best:>7.4f} {naive:>7.4f}")
    print()
    for fraction, errs in errors.items():
        print(f"at {fraction:.0%} of training ({len(paths)} curves): MAE vs final {np.mean(errs['final']):.4f}, "
              f"vs best {np.mean(errs['best']):.4f}; naive best-so-far vs final {np.mean(errs['naive']):.4f}; "
              f"final inside the 80% band in {int(sum(errs['covered']))}/{len(paths)}")


if __name__ == "__main__":
    main()
