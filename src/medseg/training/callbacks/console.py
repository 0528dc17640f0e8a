"""Rich console output: sanity check, a step bar within each epoch, per-epoch summary, per-case
validation table, ETA, and the score prediction with its 80 % band and ETC.

Everything printed (not the step bar) is also appended as plain text to the experiment's
``training.log``. The step bar (steps done, running loss, time left in the epoch, then
"validating") is drawn only on an interactive terminal and disappears when the epoch ends, so
redirected output and logs get one table per epoch, never a line per step. Epochs are numbered
1..N, as in metrics.csv and the tracking step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from typing_extensions import override

from medseg.training.callback import Callback

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from medseg.training.trainer import Trainer

#: metrics-row keys that the summary table does not list one by one
_HIDDEN = ("epoch", "predicted_final", "predicted_lower", "predicted_upper", "settle_epoch", "etc_seconds")


def fmt_seconds(seconds: float) -> str:
    """``H:MM:SS``."""
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def prediction_text(metrics: dict[str, float]) -> str | None:
    """The score prediction of a metrics row as one line (None when the row has none)."""
    if "predicted_final" not in metrics:
        return None
    value = metrics["predicted_final"]
    if "predicted_lower" not in metrics:
        return f"best so far {value:.4f} (the curve is still climbing: too early to predict)"
    text = f"{value:.4f}, 80 % band [{metrics['predicted_lower']:.4f}, {metrics['predicted_upper']:.4f}]"
    if "settle_epoch" in metrics:
        text += f"; inside it from epoch {int(metrics['settle_epoch'])}"
        if "etc_seconds" in metrics:
            text += f" (ETC {fmt_seconds(metrics['etc_seconds'])})"
    return text


def steps_in_epoch(trainer: Trainer) -> int | None:
    """Optimiser steps per epoch (None when the loader has no length)."""
    if trainer.steps_per_epoch is not None:
        return trainer.steps_per_epoch
    try:
        return len(trainer.train_loader)  # type: ignore[arg-type]
    except TypeError:
        return None


class ConsoleCallback(Callback):
    """Prints to the terminal through rich and mirrors it into ``training.log``.

    ``step_bar`` None (default): the step bar is shown on interactive terminals only.
    """

    def __init__(
        self, console: Console | None = None, max_case_rows: int = 12, step_bar: bool | None = None
    ) -> None:
        self.console = console or Console()
        self.max_case_rows = max_case_rows
        self.step_bar = step_bar
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._loss_sum = 0.0
        self._steps = 0

    def _print(self, trainer: Trainer, *objects: Any) -> None:
        self._stop_bar()
        self.console.print(*objects)
        if trainer.folder is not None:
            with trainer.folder.log_file.open("a", encoding="utf-8") as f:
                Console(file=f, width=120, no_color=True, force_terminal=False).print(*objects)

    # ------------------------------------------------------------------ step bar
    def _bar_wanted(self) -> bool:
        return self.console.is_terminal if self.step_bar is None else self.step_bar

    def _stop_bar(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar, self._task = None, None

    @override
    def on_epoch_start(self, trainer: Trainer) -> None:
        self._loss_sum, self._steps = 0.0, 0
        if not self._bar_wanted():
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._stop_bar()
        self._bar = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            "", total=steps_in_epoch(trainer), epoch=f"{trainer.epoch_number}/{trainer.num_epochs}"
        )

    @override
    def on_train_batch_end(self, trainer: Trainer, loss: float) -> None:
        self._loss_sum += loss
        self._steps += 1
        if self._bar is None or self._task is None:
            return
        total = self._bar.tasks[0].total
        text = f"loss {self._loss_sum / self._steps:.4f}"
        if total is not None and self._steps >= total and trainer.val_data is not None:
            text += "  validating..."
        self._bar.update(self._task, advance=1, description=text)

    @override
    def on_exception(self, trainer: Trainer, exception: BaseException) -> None:
        self._stop_bar()
        if isinstance(exception, KeyboardInterrupt) and trainer.folder is not None:
            latest = trainer.folder.checkpoint("latest")
            where = f"resumable from {latest}" if latest.is_file() else "no checkpoint yet"
            self._print(trainer, f"[yellow]interrupted in epoch {trainer.epoch_number}; {where}[/]")

    @override
    def on_train_end(self, trainer: Trainer) -> None:
        self._stop_bar()

    # ------------------------------------------------------------------ tables
    @override
    def on_train_start(self, trainer: Trainer) -> None:
        from medseg.training.sanity import cached_sanity_check

        assert trainer.toolbox is not None and trainer.folder is not None
        self._print(trainer, f"[bold]{trainer.name}[/] experiment folder: {trainer.folder.root}")
        if trainer.epoch > 0:
            best = (
                f"best score {trainer.best_score:.4f} (epoch {trainer.best_epoch})"
                if trainer.best_epoch
                else "no validation yet"
            )
            self._print(trainer, f"resumed after epoch {trainer.epoch}/{trainer.num_epochs}, {best}")
            return
        report = cached_sanity_check(trainer.toolbox.network, trainer.input_shape, trainer.device)
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
        table = Table(title=f"validation, epoch {trainer.epoch_number} ({len(cases)} cases, worst first)")
        table.add_column("case")
        for n in names:
            table.add_column(f"Dice {n}", justify="right")
        table.add_column("mean", justify="right")
        for i, case in enumerate(cases[: self.max_case_rows]):
            style = "bold red" if i == 0 else None
            table.add_row(
                case.case_id, *[f"{case.dice[n]:.4f}" for n in names], f"{case.mean:.4f}", style=style
            )
        if len(cases) > self.max_case_rows:
            table.add_row(f"[dim]... {len(cases) - self.max_case_rows} more[/]", *[""] * (len(names) + 1))
        table.add_row(
            "[b]mean[/]",
            *[f"{result.class_dice[n]:.4f}" for n in names],
            f"{sum(result.class_dice.values()) / max(1, len(names)):.4f}",
        )
        self._print(trainer, table)

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        times = [row["epoch_time"] for row in trainer.history]
        eta = (trainer.num_epochs - trainer.epoch) * sum(times) / len(times)
        table = Table(title=f"epoch {trainer.epoch_number}/{trainer.num_epochs}", show_header=False)
        for key, value in metrics.items():
            if key in _HIDDEN or key.startswith("acc_"):
                continue
            table.add_row(
                key, f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)
            )
        if trainer.best_epoch:
            table.add_row("best score", f"{trainer.best_score:.4f} (epoch {trainer.best_epoch})")
        table.add_row("ETA", fmt_seconds(eta))
        prediction = prediction_text(metrics)
        if prediction is not None:
            table.add_row("predicted final", prediction)
        self._print(trainer, table)
