"""Curves updated each epoch: loss + score, loss components, per-class Dice, learning rate, time.

The progress plot also shows the score prediction (:mod:`medseg.training.callbacks.score_forecast`):
the predicted final score as a dashed line with its 80 % band shaded up to the last epoch, and how
the prediction moved over the epochs (dotted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.training.callback import Callback
from medseg.viz.output import save_figure

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer


def _series(history: list[dict[str, float]], key: str) -> tuple[list[float], list[float]]:
    xs = [row["epoch"] for row in history if key in row and row[key] == row[key]]
    ys = [row[key] for row in history if key in row and row[key] == row[key]]
    return xs, ys


def _draw_prediction(ax: Any, history: list[dict[str, float]], num_epochs: int) -> None:
    """The latest predicted final score, its band (to the last epoch) and the predictions so far."""
    rows = [row for row in history if "predicted_final" in row]
    if not rows:
        return
    last = rows[-1]
    ax.plot(
        *_series(history, "predicted_final"),
        color="tab:orange",
        linestyle=":",
        linewidth=1,
        label="predicted final, per epoch",
    )
    end = max(float(num_epochs), last["epoch"])
    if "predicted_lower" in last and "predicted_upper" in last:
        ax.fill_between(
            [last["epoch"], end],
            last["predicted_lower"],
            last["predicted_upper"],
            color="tab:orange",
            alpha=0.25,
            linewidth=0,
            label="80 % band",
        )
    ax.hlines(
        last["predicted_final"],
        last["epoch"],
        end,
        colors="tab:orange",
        linestyles="--",
        label=f"predicted final {last['predicted_final']:.4f}",
    )


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
        _draw_prediction(ax2, history, trainer.num_epochs)
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
