"""The learning-rate range test (Smith 2017; fastai's ``lr_find``, seed 004): loss against learning rate.

A fresh network trains for ``steps`` optimiser steps while the learning rate grows geometrically from
``start_lr`` to ``end_lr``; the loss is smoothed (exponential moving average, bias-corrected) and the
test stops when it exceeds ``DIVERGENCE`` times its best. The suggestion is the learning rate of the
steepest descent of the smoothed loss (the most negative slope against log(lr)) in the part before
the minimum — robust on the noisy curves of small patches — and never above a tenth of the minimum's
learning rate (fastai's "minimum / 10" rule), whichever is smaller. The network's weights are thrown
away: the test changes nothing but what it writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIVERGENCE = 4.0
SMOOTHING = 0.9


@dataclass
class LRFinderResult:
    """Learning rates, raw and smoothed losses, and the suggested learning rate."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float

    def to_csv(self, path: str | Path) -> Path:
        """Write ``lr,loss,smoothed`` rows (atomically)."""
        from medseg.core.atomic import write_text_atomic

        rows = [
            "lr,loss,smoothed",
            *(
                f"{a:.6e},{b:.6f},{c:.6f}"
                for a, b, c in zip(self.lrs, self.losses, self.smoothed, strict=True)
            ),
        ]
        return write_text_atomic(path, "\n".join(rows) + "\n")

    def plot(self, path: str | Path) -> Path:
        """Loss (raw and smoothed) against the learning rate (log axis), the suggestion marked."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        from medseg.core.atomic import atomic_output

        fig = Figure(figsize=(6, 4), dpi=100)
        ax = fig.add_subplot()
        ax.plot(self.lrs, self.losses, color="0.75", linewidth=1, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", linewidth=2, label="smoothed")
        ax.axvline(self.suggestion, color="C3", linestyle="--", label=f"suggested lr {self.suggestion:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.legend()
        fig.tight_layout()
        with atomic_output(Path(path)) as tmp:
            fig.savefig(tmp, format="png")
        return Path(path)


def suggest(lrs: list[float], smoothed: list[float]) -> float:
    """The steepest-descent learning rate before the minimum, capped at the minimum's lr / 10."""
    best = int(np.argmin(smoothed))
    cap = lrs[best] / 10.0
    if best < 3:
        return cap
    log_lr = np.log(np.asarray(lrs[: best + 1]))
    slope = np.gradient(np.asarray(smoothed[: best + 1]), log_lr)
    steepest = lrs[int(np.argmin(slope[1:])) + 1]
    return float(min(steepest, cap))


def lr_range_test(
    step: Callable[[Any, float], float],
    batches: Iterable[Any],
    *,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    steps: int = 100,
) -> LRFinderResult:
    """Run ``step(batch, lr) -> loss`` for up to ``steps`` batches with a geometric learning rate."""
    if not 0 < start_lr < end_lr or steps < 5:
        raise ValueError("the range test needs 0 < start_lr < end_lr and at least 5 steps")
    factor = (end_lr / start_lr) ** (1.0 / (steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, best = 0.0, math.inf
    iterator: Iterator[Any] = iter(batches)
    for i in range(steps):
        lr = start_lr * factor**i
        loss = float(step(next(iterator), lr))
        if not math.isfinite(loss):
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * loss
        value = average / (1 - SMOOTHING ** (i + 1))
        lrs.append(lr)
        losses.append(loss)
        smoothed.append(value)
        best = min(best, value)
        if i > 5 and value > DIVERGENCE * best:
            break
    if len(lrs) < 5:
        raise ValueError("the loss diverged before the range test saw 5 steps; lower start_lr")
    return LRFinderResult(lrs, losses, smoothed, suggest(lrs, smoothed))


def trainer_step(trainer: Any) -> Callable[[Any, float], float]:
    """``step(batch, lr)`` running a trainer's own training step at learning rate ``lr``."""
    from medseg.training.trainer import _to_device

    def step(batch: Any, lr: float) -> float:
        assert trainer.toolbox is not None
        for group in trainer.toolbox.optimizer.param_groups:
            group["lr"] = lr
        scheduler, trainer.toolbox.scheduler = trainer.toolbox.scheduler, None  # the test sets the lr itself
        try:
            return float(trainer.train_step(_to_device(batch, trainer.device)))
        finally:
            trainer.toolbox.scheduler = scheduler

    return step


def endless(loader: Iterable[Any], dataset: Any = None) -> Iterator[Any]:
    """Batches of ``loader`` epoch after epoch (the sampler's epoch advanced each time)."""
    epoch = 0
    while True:
        if dataset is not None and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        yield from loader
        epoch += 1


__all__ = ["LRFinderResult", "endless", "lr_range_test", "suggest", "trainer_step"]
