"""Predict the final validation score with its 80 % band, and the ETC, after every validation.

Adds to the epoch's metrics row (so metrics.csv, the console, the plots and tracking all show it):
``predicted_final``, ``predicted_lower``/``predicted_upper`` (the band; absent while the curve is
still climbing and the estimate is the best score so far), ``settle_epoch`` (from when the score is
expected inside the band) and ``etc_seconds`` (the time until then). See
:mod:`medseg.training.score_prediction` for the method and its measured accuracy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback
from medseg.training.score_prediction import ScorePrediction, predict_scores

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


def score_ceiling(trainer: Trainer) -> float:
    """1 for a Dice score, unbounded for the negated loss (``training.score``)."""
    training = getattr(trainer, "training", None)
    return math.inf if getattr(training, "score", "dice") == "neg_loss" else 1.0


class ScoreForecast(Callback):
    """From epoch ``warmup`` on, predict after each validation (see the module docstring)."""

    def __init__(self, warmup: int = 5) -> None:
        self.warmup = warmup
        self.latest: ScorePrediction | None = None

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if "val_score" not in metrics or trainer.epoch_number < self.warmup:
            return
        points = [
            (row["epoch"], row["val_score"])
            for row in trainer.history
            if "val_score" in row and math.isfinite(row["val_score"])
        ]
        if len(points) < 2:
            return
        times = [row["epoch_time"] for row in trainer.history]
        self.latest = p = predict_scores(
            [e for e, _ in points],
            [v for _, v in points],
            trainer.num_epochs,
            sum(times) / len(times),
            ceiling=score_ceiling(trainer),
        )
        metrics["predicted_final"] = p.predicted_final
        if p.lower is not None and p.upper is not None:
            metrics["predicted_lower"], metrics["predicted_upper"] = p.lower, p.upper
        metrics["settle_epoch"] = float(p.settle_epoch)
        metrics["etc_seconds"] = p.etc_seconds

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"warmup": self.warmup}
