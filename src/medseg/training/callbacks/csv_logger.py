"""Write one metrics row per epoch to ``metrics.csv`` (rewritten atomically, columns may grow)."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from typing_extensions import override

from medseg.core.atomic import atomic_open
from medseg.training.callbacks.base import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


class CSVLogger(Callback):
    """Keeps ``metrics.csv`` equal to the trainer's history (so a resumed run continues the file)."""

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        assert trainer.folder is not None
        columns: list[str] = []
        for row in trainer.history:
            columns.extend(k for k in row if k not in columns)
        with atomic_open(trainer.folder.metrics_csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for row in trainer.history:
                writer.writerow({k: row.get(k, "") for k in columns})
