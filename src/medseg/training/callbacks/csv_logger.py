"""Write one metrics row per epoch to ``metrics.csv`` (rewritten atomically, columns may grow)."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.core.atomic import atomic_open
from medseg.training.callback import Callback

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


class ValidationCasesCSV(Callback):
    """Writes ``validation/cases.csv`` after each validation: one row per case, Dice per class, worst first.

    Columns: ``case_id``, ``dice_<class>`` for every class (or region), ``mean``, ``epoch``.
    """

    @override
    def on_validation_end(self, trainer: Trainer, result: Any) -> None:
        assert trainer.folder is not None
        cases = sorted(result.cases, key=lambda c: c.mean)
        if not cases:
            return
        names = list(cases[0].dice)
        columns = ["case_id", *(f"dice_{n}" for n in names), "mean", "epoch"]
        with atomic_open(trainer.folder.root / "validation" / "cases.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for case in cases:
                writer.writerow(
                    [
                        case.case_id,
                        *(f"{case.dice[n]:.6f}" for n in names),
                        f"{case.mean:.6f}",
                        trainer.epoch_number,
                    ]
                )
