"""Callbacks: behaviour around the training loop, added by composition, with their own state.

A callback overrides any of the named hooks; every hook receives the trainer. Callbacks that keep
state across epochs (early-stop counter, best score, ...) return it from :meth:`state_dict`, which is
saved in every checkpoint and restored by ``recover_from`` so a resumed run behaves identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    #: Key under which the callback's state is stored in checkpoints (defaults to the class name).
    name: str = ""
    #: Under DDP, callbacks run on rank 0 only (logs, files, budgets); one that changes what every rank
    #: trains on (a curriculum) sets this.
    all_ranks: bool = False

    def key(self) -> str:
        """Unique name of this callback in a checkpoint."""
        return self.name or type(self).__name__

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first epoch (after the toolbox is built and any state restored)."""

    def on_epoch_start(self, trainer: Trainer) -> None:
        """At the start of each epoch."""

    def on_train_batch_end(self, trainer: Trainer, loss: float) -> None:
        """After each optimiser step."""

    def on_validation_end(self, trainer: Trainer, result: Any) -> None:
        """After a validation pass; ``result`` is the trainer's validation result."""

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After each epoch with that epoch's metrics row."""

    def on_save_checkpoint(self, trainer: Trainer, kind: str, path: str) -> None:
        """After a checkpoint of ``kind`` ("latest", "best", "epoch") was written."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch or an early stop."""

    def on_exception(self, trainer: Trainer, exception: BaseException) -> None:
        """When training stops on an exception (``KeyboardInterrupt`` included), before it propagates."""

    def state_dict(self) -> dict[str, Any]:
        """State to save in checkpoints (JSON-able scalars, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
