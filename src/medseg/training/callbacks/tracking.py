"""Send a run's parameters, per-epoch metrics and plots to a tracking frontend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import override

from medseg.tracking.base import Frontend
from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


class TrackingCallback(Callback):
    """Start the run at train start, log each epoch's metrics, attach plots and finish at the end."""

    def __init__(self, frontend: Frontend) -> None:
        self.frontend = frontend

    @override
    def on_train_start(self, trainer: Trainer) -> None:
        assert trainer.folder is not None
        params = {"trainer": trainer.name, "folder": str(trainer.folder.root), "seed": trainer.seed,
                  **trainer.train_kwargs, "plan": trainer.describe() or {}}
        self.frontend.start(trainer.folder.root.name, params)

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self.frontend.log_metrics(metrics, step=trainer.epoch)

    @override
    def on_train_end(self, trainer: Trainer) -> None:
        assert trainer.folder is not None
        for plot in sorted(trainer.folder.plots.glob("*.png")):
            self.frontend.log_artifact(plot)
        self.frontend.finish()
