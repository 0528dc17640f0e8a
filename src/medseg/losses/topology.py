"""Topology loss: soft-skeleton clDice blended with Dice, for thin tubular structures (vessels, airways).

The soft skeleton is the differentiable morphological skeleton of Shit et al.: repeated min-pool
erosions with a cross (face-neighbour) stencil, each followed by an opening (erosion then 3x3(x3)
max-pool dilation); what an opening removes is skeleton. ``iterations`` must reach half the
thickest structure's width in voxels for the skeleton to be thin everywhere.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from typing_extensions import override

from medseg.losses.base import Activation, check_number
from medseg.losses.composite import CompositeLoss, Region
from medseg.losses.registry import register_loss
from medseg.losses.schedules import AlphaSchedule

_EPS = 1e-8


def _pool(x: torch.Tensor, kernel: tuple[int, ...]) -> torch.Tensor:
    padding = tuple(k // 2 for k in kernel)
    pool = F.max_pool2d if x.ndim == 4 else F.max_pool3d
    return pool(x, kernel, stride=1, padding=padding)


def soft_erode(x: torch.Tensor) -> torch.Tensor:
    """Grey-value erosion with the cross stencil: the minimum over each axis's 3-voxel line."""
    spatial = x.ndim - 2
    lines = []
    for axis in range(spatial):
        kernel = tuple(3 if a == axis else 1 for a in range(spatial))
        lines.append(-_pool(-x, kernel))
    return functools.reduce(torch.minimum, lines)


def soft_dilate(x: torch.Tensor) -> torch.Tensor:
    """Grey-value dilation with the full 3x3(x3) square."""
    return _pool(x, (3,) * (x.ndim - 2))


def soft_skeleton(x: torch.Tensor, iterations: int) -> torch.Tensor:
    """Soft skeleton of probabilities ``(B, C, *spatial)`` after ``iterations`` erosions."""
    if x.ndim not in (4, 5):
        raise ValueError(f"expected (B, C, *spatial) with 2 or 3 spatial axes, got {tuple(x.shape)}")
    skeleton = F.relu(x - soft_dilate(soft_erode(x)))
    for _ in range(iterations):
        x = soft_erode(x)
        residue = F.relu(x - soft_dilate(soft_erode(x)))
        skeleton = skeleton + F.relu(residue - skeleton * residue)
    return skeleton


@register_loss("cldice", composite=True)
class ClDiceLoss(CompositeLoss):
    """Soft clDice ``1 - 2 Tprec Tsens / (Tprec + Tsens)`` per class, blended with Dice.

    ``Tprec``: fraction of the predicted skeleton inside the target; ``Tsens``: fraction of the
    target skeleton inside the prediction (each smoothed by ``smooth``). Computed per class with
    batch sums (per sample with ``batch_dice=False``), then averaged; softmax background out unless
    ``include_background``. Reference: Shit et al., clDice - a novel topology-preserving loss
    function for tubular structure segmentation, CVPR 2021.
    """

    term_name = "cldice"

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        schedule: AlphaSchedule | None = None,
        *,
        iterations: int = 3,
        region: Region = "dice",
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(
            out_channels,
            activation,
            schedule,
            region=region,
            smooth=smooth,
            include_background=include_background,
            batch_dice=batch_dice,
        )
        self.iterations = int(check_number("iterations", iterations, low=0, integer=True))
        self.smooth = check_number("smooth", smooth, low=0)
        self.batch_dice = bool(batch_dice)

    def cldice_term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The clDice term alone."""
        probs = self.overlap_channels(self.probabilities(logits))
        truth = self.overlap_channels(self.binary_target(target))
        dims = (0, *range(2, probs.ndim)) if self.batch_dice else tuple(range(2, probs.ndim))
        skeleton_pred = soft_skeleton(probs, self.iterations)
        skeleton_true = soft_skeleton(truth, self.iterations)
        precision = ((skeleton_pred * truth).sum(dims) + self.smooth) / (
            skeleton_pred.sum(dims) + self.smooth
        )
        sensitivity = ((skeleton_true * probs).sum(dims) + self.smooth) / (
            skeleton_true.sum(dims) + self.smooth
        )
        cl_dice = 2 * precision * sensitivity / (precision + sensitivity + _EPS)
        return 1 - cl_dice.mean()

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``alpha * Dice loss + (1 - alpha) * clDice loss``."""
        self.check_shapes(logits, target)
        return self.blend(logits, target, self.cldice_term(logits, target))
