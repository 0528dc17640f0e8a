"""Curves updated each epoch: loss + score, loss components, per-class Dice, learning rate, time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import override

from medseg.training.callback import Callback
from medseg.viz.output import save_figure

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


def _series(history: list[dict[str, float]], key: str) -> tuple[list[float], list[float]]:
    xs = [row["epoch"] for row in history if key in row and row[key] == row[key]]
    ys = [row[key] for row in history if key in row and row[key] == row[key]]
    return xs, ys


class PlotCallback(Callback):
    """Writes ``plots/progress.png``, ``losses.png``, ``dice.png``, ``lr.png`` and ``epoch_time.png``."""

    @override
    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        assert trainer.folder is not None
        history = trainer.history
        groups = {
            "losses": [k for k in metrics if k.startswith("train_")],
            "dice": [k for k in metrics if k.startswith("dice_")],
            "lr": ["lr"],
            "epoch_time": ["epoch_time"],
        }
        # progress: loss and score on twin axes
        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        ax.plot(*_series(history, "train_loss"), label="train loss", color="tab:blue")
        ax.plot(*_series(history, "val_loss"), label="val loss", color="tab:cyan")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax2 = ax.twinx()
        ax2.plot(*_series(history, "val_score"), label="val score", color="tab:red", marker=".")
        ax2.set_ylabel("validation score")
        fig.legend(loc="upper right")
        fig.tight_layout()
        save_figure(fig, trainer.folder.plots / "progress.png", dpi=90)
        for name, keys in groups.items():
            if not keys:
                continue
            fig = Figure(figsize=(6, 3.5))
            ax = fig.add_subplot()
            for key in keys:
                ax.plot(*_series(history, key), label=key, marker="." if name == "dice" else None)
            ax.set_xlabel("epoch")
            ax.set_title(name.replace("_", " "))
            ax.legend(fontsize=8)
            fig.tight_layout()
            save_figure(fig, trainer.folder.plots / f"{name}.png", dpi=90)
