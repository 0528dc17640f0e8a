"""Stateful Dice/IoU: accumulate confusion counts over batches, compute the global value per class."""

from __future__ import annotations

from typing import Any

import torch

from medseg.metrics._inputs import ArrayLike
from medseg.metrics.overlap import ConfusionCounts, confusion_counts, dice_from_counts, iou_from_counts


class DiceAccumulator:
    """Global ("micro") Dice and IoU per class over everything passed to :meth:`update`.

    Sums TP/FP/FN over all batches and items before the ratio, so small or empty patches do not
    dominate as they would in a mean of per-item Dice. A class never seen in either mask scores
    ``empty_value``.
    """

    def __init__(self, empty_value: float = 1.0) -> None:
        self.empty_value = empty_value
        self.reset()

    def reset(self) -> None:
        """Forget everything seen."""
        self.tp: torch.Tensor | None = None
        self.fp: torch.Tensor | None = None
        self.fn: torch.Tensor | None = None

    def update(self, pred: ArrayLike, ref: ArrayLike) -> None:
        """Add a batch of binary/one-hot ``(B, C, *spatial)`` predictions and references."""
        c = confusion_counts(pred, ref)
        tp, fp, fn = c.tp.sum(0).cpu(), c.fp.sum(0).cpu(), c.fn.sum(0).cpu()
        if self.tp is None or self.fp is None or self.fn is None:
            self.tp, self.fp, self.fn = tp, fp, fn
            return
        if tp.shape != self.tp.shape:
            raise ValueError(f"update with {tp.numel()} classes after {self.tp.numel()}")
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    def _counts(self) -> ConfusionCounts:
        if self.tp is None or self.fp is None or self.fn is None:
            raise RuntimeError("DiceAccumulator.compute() called before any update()")
        zeros = torch.zeros_like(self.tp)
        return ConfusionCounts(self.tp[None], self.fp[None], self.fn[None], zeros[None])

    def compute(self) -> torch.Tensor:
        """Global Dice per class, shape ``(C,)``."""
        return dice_from_counts(self._counts(), self.empty_value)[0]

    def compute_iou(self) -> torch.Tensor:
        """Global IoU per class, shape ``(C,)``."""
        return iou_from_counts(self._counts(), self.empty_value)[0]

    def state_dict(self) -> dict[str, Any]:
        """Counts and settings, for checkpoints (plain tensors and floats)."""
        return {"empty_value": self.empty_value, "tp": self.tp, "fp": self.fp, "fn": self.fn}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.empty_value = float(state["empty_value"])
        self.tp, self.fp, self.fn = state["tp"], state["fp"], state["fn"]
