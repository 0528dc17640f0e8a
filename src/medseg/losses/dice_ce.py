"""Dice + cross-entropy, the default segmentation loss (registered as ``dice_ce``).

Decisions:
* ``activation`` is ``"softmax"`` (classes; target ``(B, 1)`` labels) or ``"sigmoid"`` (one binary
  channel per output; target ``(B, C)``). Left ``None`` it is derived as before: sigmoid for one
  output channel or ``region_based=True``, softmax otherwise.
* Softmax: cross-entropy over all classes + Dice without the background (nnU-Net), unless
  ``include_background``. Sigmoid: binary cross-entropy (mean over every element) + Dice of every
  channel.
* Dice is the *batch* Dice (summed over the batch and space before the ratio, nnU-Net's default),
  stable for patches without foreground; ``batch_dice=False`` takes the mean of per-sample Dice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from typing_extensions import override

from medseg.losses.base import Activation, SegmentationLoss, check_number, one_hot
from medseg.losses.registry import register_loss
from medseg.metrics.soft_dice import soft_dice

__all__ = ["DiceCELoss", "cross_entropy", "dice_loss", "one_hot", "soft_dice_per_channel"]


def soft_dice_per_channel(probs: torch.Tensor, onehot: torch.Tensor, smooth: float = 1e-5) -> torch.Tensor:
    """Batch soft Dice per channel of ``(B, C, *spatial)`` probabilities vs a binary target."""
    return soft_dice(probs, onehot, smooth, batch_dice=True)


def dice_loss(probs: torch.Tensor, target: torch.Tensor, smooth: float, batch_dice: bool) -> torch.Tensor:
    """``1 - mean Dice`` over channels (and samples unless ``batch_dice``) of probabilities vs binary target."""
    return 1 - soft_dice(probs, target, smooth, batch_dice=batch_dice).mean()


def cross_entropy(loss: SegmentationLoss, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CE over the classes (softmax) or mean BCE over every element (sigmoid) of float32 logits."""
    if loss.softmax:
        return F.cross_entropy(logits.float(), target[:, 0].long())
    return F.binary_cross_entropy_with_logits(logits.float(), loss.binary_target(target))


@register_loss("dice_ce")
class DiceCELoss(SegmentationLoss):
    """``weight_dice * (1 - Dice) + weight_ce * CE``; the default loss.

    Reference: Isensee et al., nnU-Net, Nature Methods 2021 (Dice + CE, batch Dice).
    """

    def __init__(
        self,
        out_channels: int,
        activation: Activation | None = None,
        region_based: bool = False,
        *,
        weight_dice: float = 1.0,
        weight_ce: float = 1.0,
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        if activation is None:
            activation = "sigmoid" if out_channels == 1 or region_based else "softmax"
        super().__init__(out_channels, activation, include_background)
        self.weight_dice = check_number("weight_dice", weight_dice, low=0)
        self.weight_ce = check_number("weight_ce", weight_ce, low=0)
        self.smooth = check_number("smooth", smooth, low=0)
        self.batch_dice = bool(batch_dice)

    @property
    def num_classes(self) -> int:
        """The number of output channels (the name this class used before the registry)."""
        return self.out_channels

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``(B, C, *spatial)`` logits against the target (see :mod:`medseg.losses.base`)."""
        self.check_shapes(logits, target)
        ce = cross_entropy(self, logits, target)
        probs = self.probabilities(logits)
        binary = self.binary_target(target)
        dice = dice_loss(
            self.overlap_channels(probs), self.overlap_channels(binary), self.smooth, self.batch_dice
        )
        self.report({"dice_loss": dice, "ce": ce})
        return self.weight_dice * dice + self.weight_ce * ce
