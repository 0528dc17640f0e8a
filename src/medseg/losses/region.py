"""Region (overlap) losses: Dice, Dice + focal, Tversky.

All share the Dice conventions of ``dice_ce``: batch sums unless ``batch_dice=False``, softmax
background out of the overlap term unless ``include_background``, ``smooth`` added to numerator and
denominator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from typing_extensions import override

from medseg.losses.base import Activation, SegmentationLoss, check_number
from medseg.losses.dice_ce import dice_loss
from medseg.losses.registry import register_loss


@register_loss("dice")
class DiceLoss(SegmentationLoss):
    """Soft Dice loss ``1 - mean Dice``; also the region term of the composite losses.

    Reference: Milletari et al., V-Net, 3DV 2016.
    """

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        *,
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(out_channels, activation, include_background)
        self.smooth = check_number("smooth", smooth, low=0)
        self.batch_dice = bool(batch_dice)

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``1 - Dice`` of the probabilities against the target."""
        self.check_shapes(logits, target)
        probs = self.overlap_channels(self.probabilities(logits))
        binary = self.overlap_channels(self.binary_target(target))
        dice = dice_loss(probs, binary, self.smooth, self.batch_dice)
        self.report({"dice_loss": dice})
        return dice


def focal_term(
    loss: SegmentationLoss, logits: torch.Tensor, target: torch.Tensor, gamma: float
) -> torch.Tensor:
    """Focal loss ``-(1 - p_t)^gamma log p_t``, averaged over voxels (softmax) or elements (sigmoid).

    Softmax: ``p_t`` is the probability of the true class of each voxel, so ``gamma=0`` gives the
    cross-entropy. Sigmoid: per element, ``gamma=0`` gives the mean binary cross-entropy.
    """
    logits = logits.float()
    if loss.softmax:
        log_pt = torch.log_softmax(logits, 1).gather(1, target.long())
    else:
        log_pt = -F.binary_cross_entropy_with_logits(logits, loss.binary_target(target), reduction="none")
    modulation = (-torch.expm1(log_pt)).clamp_min(0).pow(gamma)  # (1 - p_t)^gamma, accurate for p_t near 1
    return -(modulation * log_pt).mean()


@register_loss("dice_focal")
class DiceFocalLoss(SegmentationLoss):
    """``weight_dice * (1 - Dice) + weight_focal * focal``: CE's focal variant for hard voxels.

    Reference: Lin et al., Focal loss for dense object detection, ICCV 2017; Zhu et al.,
    AnatomyNet, Med. Phys. 2019 (Dice + focal).
    """

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        *,
        gamma: float = 2.0,
        weight_dice: float = 1.0,
        weight_focal: float = 1.0,
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(out_channels, activation, include_background)
        self.gamma = check_number("gamma", gamma, low=0)
        self.weight_dice = check_number("weight_dice", weight_dice, low=0)
        self.weight_focal = check_number("weight_focal", weight_focal, low=0)
        self.smooth = check_number("smooth", smooth, low=0)
        self.batch_dice = bool(batch_dice)

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Dice loss + focal loss of the logits against the target."""
        self.check_shapes(logits, target)
        probs = self.overlap_channels(self.probabilities(logits))
        dice = dice_loss(
            probs, self.overlap_channels(self.binary_target(target)), self.smooth, self.batch_dice
        )
        focal = focal_term(self, logits, target, self.gamma)
        self.report({"dice_loss": dice, "focal": focal})
        return self.weight_dice * dice + self.weight_focal * focal


@register_loss("tversky")
class TverskyLoss(SegmentationLoss):
    """``1 - TP / (TP + alpha FP + beta FN)`` per class: ``beta > alpha`` favours recall (small lesions).

    ``alpha = beta = 0.5`` is the Dice loss. Defaults 0.3 / 0.7 as recommended by the reference:
    Salehi et al., Tversky loss function for image segmentation, MLMI 2017.
    """

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        *,
        alpha: float = 0.3,
        beta: float = 0.7,
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(out_channels, activation, include_background)
        self.alpha = check_number("alpha", alpha, low=0)
        self.beta = check_number("beta", beta, low=0)
        self.smooth = check_number("smooth", smooth, low=0)
        self.batch_dice = bool(batch_dice)

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean Tversky loss over channels (and samples unless ``batch_dice``)."""
        self.check_shapes(logits, target)
        probs = self.overlap_channels(self.probabilities(logits))
        binary = self.overlap_channels(self.binary_target(target))
        dims = (0, *range(2, probs.ndim)) if self.batch_dice else tuple(range(2, probs.ndim))
        tp = (probs * binary).sum(dims)
        fp = (probs * (1 - binary)).sum(dims)
        fn = ((1 - probs) * binary).sum(dims)
        index = (tp + self.smooth) / (tp + self.alpha * fp + self.beta * fn + self.smooth)
        loss = 1 - index.mean()
        self.report({"tversky": loss})
        return loss
