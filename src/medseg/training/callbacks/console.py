"""Rich console output: sanity check, per-epoch summary, per-case validation table, ETA/ETC.

Everything printed is also appended as plain text to the experiment's ``training.log``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from typing_extensions import override

from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


def _fmt_seconds(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ConsoleCallback(Callback):
    """Prints to the terminal through rich and mirrors it into ``training.log``."""

    def __init__(self, console: Console | None = None, max_case_rows: int = 12) -> None:
        self.console = console or Console()
        self.max_case_rows = max_case_rows

    def _print(self, trainer: Trainer, *objects: Any) -> None:
        self.console.print(*objects)
        if trainer.folder is not None:
            with trainer.folder.log_file.open("a", encoding="utf-8") as f:
                Console(file=f, width=120, no_color=True, force_terminal=False).print(*objects)

    @override
    def on_train_start(self, trainer: Trainer) -> None:
        from medseg.training.sanity import sanity_check

        assert trainer.toolbox is not None and trainer.folder is not None
        self._print(trainer, f"[bold]{trainer.name}[/] experiment folder: {trainer.folder.root}")
        if trainer.epoch > 0:
            self._print(trainer, f"resumed at epoch {trainer.epoch}/{trainer.num_epochs}, best score "
                                 f"{trainer.best_score:.4f} (epoch {trainer.best_epoch})")
            return
        report = sanity_check(trainer.toolbox.network, trainer.input_shape, trainer.device)
        table = Table(title="sanity check", show_header=False)
        table.add_row("input", str(report.input_shape))
        table.add_row("outputs", ", ".join(str(s) for s in report.output_shapes))
        table.add_row("parameters", f"{report.parameters:,}")
        table.add_row("MACs / sample", f"{report.macs / 1e9:.3f} G")
        self._print(trainer, table)

    @override
    def on_validation_end(self, trainer: Trainer, result: Any) -> None:
        cases = sorted(result.cases, key=lambda c: c.mean)
        if not cases:
            return
        names = list(cases[0].dice)
        table = Table(title=f"validation, epoch {trainer.epoch} ({len(cases)} cases, worst first)")
        table.add_column("case")
        for n in names:
            table.add_column(f"Dice {n}", justify="right")
        table.add_column("mean", justify="right")
        for i, case in enumerate(cases[: self.max_case_rows]):
            style = "bold red" if i == 0 else None
            table.add_row(case.case_id, *[f"{case.dice[n]:.4f}" for n in names], f"{case.mean:.4f}", style=style)
        table.add_row("[b]mean[/]", *[f"{result.class_dice[n]:.4f}" for n in names],
                      f"{sum(result.class_dice.values()) / max(1, len(names)):.4f}")
        self._print(trainer, table)

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        times = [row["epoch_time"] for row in trainer.history]
        eta = (trainer.num_epochs - trainer.epoch) * sum(times) / len(times)
        table = Table(title=f"epoch {trainer.epoch}/{trainer.num_epochs}", show_header=False)
        for key, value in metrics.items():
            if key in ("epoch",) or key.startswith("acc_"):
                continue
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value))
        table.add_row("best score", f"{trainer.best_score:.4f} (epoch {trainer.best_epoch})")
        table.add_row("ETA", _fmt_seconds(eta))
        if "predicted_best" in metrics:
            table.add_row("predicted best", f"{metrics['predicted_best']:.4f} at epoch "
                                            f"{int(metrics['predicted_best_epoch'])}, ETC "
                                            f"{_fmt_seconds(metrics['etc_seconds'])}")
        self._print(trainer, table)
