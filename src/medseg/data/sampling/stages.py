"""Sampling stages: how patches are drawn in an epoch (a curriculum changes them as training goes on).

A :class:`SamplingStage` travels with every batch request to the loader's workers, so a stage set in
the training process reaches persistent workers at the next epoch, and a sample stays a pure function
of ``(seed, epoch, index, stage)`` whatever the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PatchDraw:
    """Where one patch comes from: the case, the start corner and the class it was forced to hold."""

    case_index: int
    start: tuple[int, ...]
    forced_class: int | None


@dataclass(frozen=True)
class SamplingStage:
    """``foreground_oversampling`` / ``rare_class_oversampling`` replace the sampler's own settings
    (``None``: keep them); ``draws`` (hard examples mined from the network) are drawn from instead of
    random positions, a new permutation of them each epoch."""

    name: str = "default"
    foreground_oversampling: float | None = None
    rare_class_oversampling: bool | None = None
    draws: tuple[PatchDraw, ...] = ()


DEFAULT_STAGE = SamplingStage()
