"""Stop training when the validation score has not improved for a number of validations."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


class EarlyStopping(Callback):
    """After ``tolerance`` validations without a better score, ask the trainer to stop."""

    def __init__(self, tolerance: int, min_delta: float = 0.0) -> None:
        if tolerance < 1:
            raise ValueError(f"early-stop tolerance must be >= 1, got {tolerance}")
        self.tolerance = tolerance
        self.min_delta = min_delta
        self.best = -math.inf
        self.bad_validations = 0

    @override
    def on_validation_end(self, trainer: Trainer, result: Any) -> None:
        if result.score > self.best + self.min_delta:
            self.best, self.bad_validations = float(result.score), 0
        else:
            self.bad_validations += 1
            if self.bad_validations >= self.tolerance:
                trainer.stop_requested = True
                trainer.logger.info("early stop: %d validations without improvement", self.bad_validations)

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_validations": self.bad_validations}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.bad_validations = int(state["bad_validations"])
