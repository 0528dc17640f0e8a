"""Dice + cross-entropy, the default segmentation loss (softmax for several classes, sigmoid for one).

Decisions:
* ``num_classes`` counts the *output channels*. One output channel means a binary task: Dice + BCE on
  a sigmoid. Several channels: softmax Dice (background excluded from the Dice term, as nnU-Net) +
  cross-entropy.
* ``region_based=True`` treats every channel as an independent sigmoid region (BraTS-style
  overlapping regions); the target must then be a multi-channel binary tensor.
* Dice is the *batch* Dice (summed over the batch and space before the ratio), nnU-Net's default,
  which is stable for patches that contain no foreground.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def soft_dice_per_channel(probs: torch.Tensor, onehot: torch.Tensor, smooth: float = 1e-5) -> torch.Tensor:
    """Batch soft Dice per channel of ``(B, C, *spatial)`` probabilities vs a binary target."""
    axes = [0, *range(2, probs.ndim)]
    intersection = (probs * onehot).sum(axes)
    denominator = probs.sum(axes) + onehot.sum(axes)
    return (2 * intersection + smooth) / (denominator + smooth).clamp_min(1e-8)


def one_hot(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(B, 1, *spatial)`` integer labels -> ``(B, num_classes, *spatial)`` float one-hot."""
    labels = target[:, 0].long()
    return F.one_hot(labels, num_classes).movedim(-1, 1).to(torch.float32)


class DiceCELoss(nn.Module):
    """``weight_dice * (1 - Dice) + weight_ce * CE`` with the variant chosen from the number of classes.

    After each call, :attr:`last_components` holds the value of each term (for the plots).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        region_based: bool = False,
        weight_dice: float = 1.0,
        weight_ce: float = 1.0,
        smooth: float = 1e-5,
        ignore_background_in_dice: bool = True,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.sigmoid = num_classes == 1 or region_based
        self.region_based = region_based
        self.weight_dice = weight_dice
        self.weight_ce = weight_ce
        self.smooth = smooth
        self.ignore_background_in_dice = ignore_background_in_dice
        self.last_components: dict[str, float] = {}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``(B, C, *spatial)`` logits against ``(B, 1, *spatial)`` labels (or regions)."""
        logits = logits.float()
        if self.sigmoid:
            binary = target.float() if self.region_based else (target > 0).float()
            if binary.shape[1] != logits.shape[1]:
                raise ValueError(f"target has {binary.shape[1]} channels, logits {logits.shape[1]}")
            ce = F.binary_cross_entropy_with_logits(logits, binary)
            dice = soft_dice_per_channel(torch.sigmoid(logits), binary, self.smooth).mean()
        else:
            ce = F.cross_entropy(logits, target[:, 0].long())
            probs = torch.softmax(logits, 1)
            per_class = soft_dice_per_channel(probs, one_hot(target, self.num_classes), self.smooth)
            dice = (per_class[1:] if self.ignore_background_in_dice else per_class).mean()
        loss = self.weight_dice * (1 - dice) + self.weight_ce * ce
        self.last_components = {"dice_loss": float(1 - dice.detach()), "ce": float(ce.detach())}
        return loss
