"""Choose postprocessing steps on validation cases with nnU-Net's acceptance rule.

Candidate steps are tried one after another on top of the steps accepted so far. A step is kept
only if it raises the mean Dice over classes and lowers the Dice of no class (each class's Dice is
averaged over cases, ignoring NaN for cases where the class is absent from both maps). The Dice
function is passed in, because inference may not import :mod:`medseg.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from medseg.inference.postprocessing_strategy import (
    KeepLargestStep,
    PostprocessingStep,
    PostprocessingStrategy,
)

DiceFn = Callable[[np.ndarray, np.ndarray, Sequence[int]], Sequence[float]]
"""``dice_fn(prediction, reference, classes)`` -> one Dice per class, in ``classes`` order."""


@dataclass
class PostprocessingSelection:
    """The chosen strategy and the per-class mean Dice before and after it, plus every trial."""

    strategy: PostprocessingStrategy
    dice_before: dict[int, float]
    dice_after: dict[int, float]
    trials: list[tuple[PostprocessingStep, bool, dict[int, float]]] = field(default_factory=list)


def default_candidates(classes: Sequence[int]) -> list[PostprocessingStep]:
    """nnU-Net's candidates: largest component of all foreground together, then of each class."""
    steps: list[PostprocessingStep] = [KeepLargestStep(classes=list(classes), per_class=False)]
    steps.extend(KeepLargestStep(classes=[c]) for c in classes)
    return steps


def _mean_dice(
    predictions: Sequence[np.ndarray],
    references: Sequence[np.ndarray],
    dice_fn: DiceFn,
    classes: Sequence[int],
) -> dict[int, float]:
    """Per-class Dice averaged over cases (NaN entries ignored; a class never scored counts as 0)."""
    table = np.array(
        [list(dice_fn(p, r, classes)) for p, r in zip(predictions, references, strict=True)], dtype=float
    ).reshape(len(predictions), len(classes))
    means: dict[int, float] = {}
    for column, c in enumerate(classes):
        values = table[:, column][~np.isnan(table[:, column])]
        means[int(c)] = float(values.mean()) if values.size else 0.0
    return means


def _accept(candidate: dict[int, float], current: dict[int, float]) -> bool:
    """nnU-Net's rule: the class mean improves and no class gets worse."""
    improves = float(np.mean(list(candidate.values()))) > float(np.mean(list(current.values())))
    return improves and all(candidate[c] >= current[c] for c in current)


def select_postprocessing(
    predictions: Sequence[np.ndarray],
    references: Sequence[np.ndarray],
    dice_fn: DiceFn,
    classes: Sequence[int],
    *,
    spacings: Sequence[Sequence[float]] | None = None,
    candidates: Sequence[PostprocessingStep] | None = None,
    connectivity: int | None = None,
) -> PostprocessingSelection:
    """Greedily accept the candidate steps that help on these cases; returns the strategy and scores.

    ``predictions`` and ``references`` are label maps of the same cases; ``spacings`` gives each
    case's voxel size per array axis (used by ``remove_small`` steps).
    """
    if len(predictions) != len(references) or not predictions:
        raise ValueError(
            f"need the same, non-zero number of predictions ({len(predictions)}) and "
            f"references ({len(references)})"
        )
    if spacings is not None and len(spacings) != len(predictions):
        raise ValueError(f"spacings has {len(spacings)} entries for {len(predictions)} cases")
    classes = [int(c) for c in classes]
    strategy = PostprocessingStrategy(connectivity=connectivity)  # type: ignore[arg-type]
    current = [np.asarray(p) for p in predictions]
    scores = _mean_dice(current, references, dice_fn, classes)
    selection = PostprocessingSelection(strategy, dict(scores), dict(scores))
    for step in default_candidates(classes) if candidates is None else candidates:
        trial = [
            step.apply(p, None if spacings is None else spacings[i], strategy.connectivity)
            for i, p in enumerate(current)
        ]
        trial_scores = _mean_dice(trial, references, dice_fn, classes)
        accepted = _accept(trial_scores, scores)
        selection.trials.append((step, accepted, trial_scores))
        if accepted:
            strategy.steps.append(step)
            current, scores = trial, trial_scores
    selection.dice_after = dict(scores)
    return selection
