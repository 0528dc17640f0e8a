"""Composite losses: ``alpha * region + (1 - alpha) * term``, with alpha following a schedule.

The trainer tells a composite loss where training is with ``set_progress(epoch, num_epochs)`` at
the start of every epoch (``epoch`` counts from 0). :class:`ProgressAware` is the protocol it can
test for, and :func:`set_loss_progress` reaches composite losses nested in wrappers (deep
supervision). Alpha is a pure function of ``(epoch, num_epochs)``: a resumed run gets it back
from its epoch counter alone, nothing is stored in checkpoints.
"""

from __future__ import annotations

from typing import Literal, Protocol, get_args, runtime_checkable

import torch
from torch import nn

from medseg.core.errors import ConfigError
from medseg.losses.base import Activation, SegmentationLoss
from medseg.losses.dice_ce import DiceCELoss
from medseg.losses.region import DiceLoss
from medseg.losses.schedules import AlphaSchedule, ConstantSchedule

Region = Literal["dice", "dice_ce"]
REGIONS: tuple[str, ...] = get_args(Region)


@runtime_checkable
class ProgressAware(Protocol):
    """A loss whose weighting depends on how far training is."""

    def set_progress(self, epoch: int, num_epochs: int) -> None:
        """Called at the start of each epoch (``epoch`` from 0 to ``num_epochs - 1``)."""
        ...


def set_loss_progress(loss: nn.Module, epoch: int, num_epochs: int) -> int:
    """Call ``set_progress`` on ``loss`` and every submodule that has it; returns how many did."""
    count = 0
    for module in loss.modules():
        if isinstance(module, ProgressAware):
            module.set_progress(epoch, num_epochs)
            count += 1
    return count


class CompositeLoss(SegmentationLoss):
    """Base class: a region term (Dice, or Dice + CE) blended with a subclass's term by alpha.

    ``last_components`` holds the region term's components, the subclass's term under
    :attr:`term_name` and the ``alpha`` in use.
    """

    term_name = "term"

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        schedule: AlphaSchedule | None,
        *,
        region: Region,
        smooth: float,
        include_background: bool,
        batch_dice: bool,
    ) -> None:
        super().__init__(out_channels, activation, include_background)
        if region not in REGIONS:
            raise ConfigError(
                f"training.loss_params.region: must be one of {', '.join(REGIONS)}, got {region!r}"
            )
        self.region: SegmentationLoss = (
            DiceLoss(
                out_channels,
                activation,
                smooth=smooth,
                include_background=include_background,
                batch_dice=batch_dice,
            )
            if region == "dice"
            else DiceCELoss(
                out_channels,
                activation,
                smooth=smooth,
                include_background=include_background,
                batch_dice=batch_dice,
            )
        )
        self.region_kind: Region = region
        self.schedule: AlphaSchedule = schedule if schedule is not None else ConstantSchedule()
        self.alpha = float(self.schedule(0, 1))

    def set_progress(self, epoch: int, num_epochs: int) -> None:
        """Set alpha from the schedule for ``epoch`` of ``num_epochs``."""
        self.alpha = float(self.schedule(epoch, num_epochs))

    def blend(self, logits: torch.Tensor, target: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
        """``alpha * region(logits, target) + (1 - alpha) * term``, and record the components."""
        region = self.region(logits, target)
        self.report({**self.region.last_components, self.term_name: term, "alpha": self.alpha})
        return self.alpha * region + (1.0 - self.alpha) * term
