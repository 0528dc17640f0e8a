"""Whole-case validation: sliding-window prediction, per-case/per-class Dice, the worst case."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from medseg.core import termination
from medseg.core.vocab import ScoreName


@dataclass
class CaseResult:
    """Dice per foreground class of one validation case."""

    case_id: str
    dice: dict[str, float]

    @property
    def mean(self) -> float:
        """Mean Dice over the foreground classes."""
        return float(np.mean(list(self.dice.values()))) if self.dice else float("nan")


@dataclass
class ValidationResult:
    """Everything one validation pass measured; ``score`` is higher-is-better."""

    score: float
    loss: float
    cases: list[CaseResult]
    class_dice: dict[str, float]
    accumulated_dice: dict[str, float]
    worst: CaseResult | None = None
    worst_arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def row(self) -> dict[str, float]:
        """Values for the metrics table."""
        out = {
            "val_score": self.score,
            "val_loss": self.loss,
            "val_mean_dice": float(np.mean(list(self.class_dice.values()))) if self.class_dice else 0.0,
        }
        out.update({f"dice_{k}": v for k, v in self.class_dice.items()})
        out.update({f"acc_dice_{k}": v for k, v in self.accumulated_dice.items()})
        return out


def as_validation_case(item: Any) -> tuple[str, torch.Tensor, torch.Tensor]:
    """Accept a Case, a preprocessed case, a dict with image/label(/case_id) or an (image, label[, id]) tuple."""
    if hasattr(item, "image_tensor"):
        return str(item.case_id), item.image_tensor(), item.label_tensor()
    if hasattr(item, "properties") and hasattr(item, "image"):  # a memory-mapped preprocessed case
        image = torch.from_numpy(np.array(item.image, dtype=np.float32))
        return str(item.case_id), image, torch.from_numpy(np.array(item.label, dtype=np.int64))
    if isinstance(item, dict):
        return (
            str(item.get("case_id", "case")),
            torch.as_tensor(item["image"]),
            torch.as_tensor(item["label"]),
        )
    image, label = item[0], item[1]
    case_id = str(item[2]) if len(item) > 2 else "case"
    return case_id, torch.as_tensor(image), torch.as_tensor(label)


def mask_counts(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``(K, 3)`` tensor of (intersection, |pred|, |ref|) per mask of ``(K, *spatial)`` boolean masks."""
    axes = tuple(range(1, pred.ndim))
    return torch.stack([(pred & ref).sum(axes), pred.sum(axes), ref.sum(axes)], 1).double()


def dice_from_counts(counts: torch.Tensor) -> list[float]:
    """Dice per row of :func:`mask_counts`, by the metrics' one rule (both masks empty: 1.0)."""
    from medseg.metrics.overlap import ConfusionCounts
    from medseg.metrics.overlap import dice_from_counts as dice_rule

    tp, p, r = counts[:, 0], counts[:, 1], counts[:, 2]
    return [float(v) for v in dice_rule(ConfusionCounts(tp, p - tp, r - tp, torch.zeros_like(tp)))]


MasksFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def validate_cases(
    network: nn.Module,
    cases: Iterable[Any],
    patch_size: Sequence[int],
    class_names: dict[int, str],
    criterion: LossFn | None,
    device: torch.device,
    *,
    masks: MasksFn,
    score: ScoreName = "dice",
    overlap: float = 0.5,
    window_batch_size: int = 4,
    infer: Callable[..., torch.Tensor] | None = None,
) -> ValidationResult:
    """Predict every case with a Gaussian sliding window and measure Dice per class (or region).

    ``masks(logits, label)`` gives the predicted and reference masks, one per entry of
    ``class_names`` in key order (:func:`medseg.training.targets.class_masks` for a Plan).
    """
    from medseg.inference import sliding_window_inference

    infer = infer or sliding_window_inference
    network.eval()
    classes = sorted(class_names)
    totals = torch.zeros(len(classes), 3, dtype=torch.float64)
    results: list[CaseResult] = []
    losses: list[float] = []
    worst: CaseResult | None = None
    worst_arrays: dict[str, np.ndarray] = {}
    for item in cases:
        termination.check()
        case_id, image, label = as_validation_case(item)
        logits = infer(
            image[None].to(device),
            network,
            list(patch_size),
            overlap=overlap,
            window_batch_size=window_batch_size,
        )
        label_b = label[None].to(device)
        if criterion is not None:
            losses.append(float(criterion(logits, label_b)))
        pred_masks, ref_masks = masks(logits, label_b[0])
        counts = mask_counts(pred_masks.cpu(), ref_masks.cpu())
        totals += counts
        result = CaseResult(case_id, dict(zip([class_names[c] for c in classes], dice_from_counts(counts))))
        results.append(result)
        if worst is None or result.mean < worst.mean:
            worst = result
            worst_arrays = {
                "image": image[0].numpy(),
                "label": _paint(ref_masks, classes),
                "prediction": _paint(pred_masks, classes),
            }
    names = [class_names[c] for c in classes]
    class_dice = {n: float(np.mean([r.dice[n] for r in results])) for n in names} if results else {}
    accumulated = dict(zip(names, dice_from_counts(totals)))
    mean_loss = float(np.mean(losses)) if losses else float("nan")
    value = float(np.mean(list(class_dice.values()))) if score == "dice" else -mean_loss
    return ValidationResult(value, mean_loss, results, class_dice, accumulated, worst, worst_arrays)


def _paint(masks: torch.Tensor, classes: Sequence[int]) -> Any:
    """A label map of the masks (later classes painted over earlier ones), for previews."""
    out = torch.zeros(masks.shape[1:], dtype=torch.int16)
    for value, mask in zip(classes, masks.cpu(), strict=True):
        out[mask] = int(value) + (1 if 0 in classes else 0)
    return out.numpy()
