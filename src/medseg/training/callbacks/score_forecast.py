"""Predict the best reachable validation score, the epoch it is reached and the ETC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback
from medseg.training.score_prediction import ScorePrediction, predict_scores

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


class ScoreForecast(Callback):
    """After ``warmup`` epochs, fit the validation-score trajectory after every validation."""

    def __init__(self, warmup: int = 20) -> None:
        self.warmup = warmup
        self.latest: ScorePrediction | None = None

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        points = [(row["epoch"], row["val_score"]) for row in trainer.history if "val_score" in row]
        if trainer.epoch < self.warmup or len(points) < 4 or "val_score" not in metrics:
            return
        times = [row["epoch_time"] for row in trainer.history]
        try:
            self.latest = predict_scores([p[0] for p in points], [p[1] for p in points],
                                         trainer.num_epochs, sum(times) / len(times))
        except (ValueError, ArithmeticError):
            self.latest = None
            return
        metrics["predicted_best"] = self.latest.predicted_best
        metrics["predicted_best_epoch"] = float(self.latest.best_epoch)
        metrics["etc_seconds"] = self.latest.etc_seconds

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"warmup": self.warmup}
