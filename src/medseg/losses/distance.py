"""Distance-map losses: boundary (Kervadec), Hausdorff-DT (Karimi), generalized surface (GSL).

Each is composite: ``alpha * region + (1 - alpha) * term``, the region term Dice (or Dice + CE with
``region="dice_ce"``), alpha from the schedule (see :mod:`medseg.losses.composite`). The term
reads signed distance maps of the target (:mod:`medseg.losses.dtm`), computed in the forward pass
from the target on the CPU with the voxel ``spacing`` and moved to the logits' device. The term
uses the foreground channels only: classes ``1..C-1`` with softmax (as MIST), every channel with
sigmoid.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from typing_extensions import override

from medseg.losses.base import Activation, check_number
from medseg.losses.composite import CompositeLoss, Region
from medseg.losses.dtm import check_spacing, distance_maps_like
from medseg.losses.registry import register_loss
from medseg.losses.schedules import AlphaSchedule


class DistanceLoss(CompositeLoss):
    """Base class: a composite loss whose term needs distance maps at the input's ``spacing``."""

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        spacing: Sequence[float],
        schedule: AlphaSchedule | None = None,
        *,
        normalize_dtm: bool = True,
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
        self.distance_spacing = check_spacing(spacing, len(tuple(spacing)))
        self.normalize_dtm = bool(normalize_dtm)

    def foreground_masks(self, target: torch.Tensor) -> torch.Tensor:
        """Boolean ``(B, C_fg, *spatial)`` masks of the foreground channels of the target."""
        if self.softmax:
            classes = torch.arange(1, self.out_channels, device=target.device).view(
                1, -1, *([1] * (target.ndim - 2))
            )
            return target.long() == classes
        return self.binary_target(target) > 0.5

    def target_distance_maps(
        self, target: torch.Tensor, spacing: tuple[float, ...], device: torch.device
    ) -> torch.Tensor:
        """Signed distance maps of the foreground channels of the target, on ``device``."""
        return distance_maps_like(self.foreground_masks(target), spacing, self.normalize_dtm, device)

    def distance_term(
        self, logits: torch.Tensor, target: torch.Tensor, spacing: tuple[float, ...]
    ) -> torch.Tensor:
        """The subclass's term."""
        raise NotImplementedError

    @override
    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, spacing: Sequence[float] | None = None
    ) -> torch.Tensor:
        """The blended loss; ``spacing`` overrides the construction spacing (deep supervision)."""
        self.check_shapes(logits, target)
        sampling = check_spacing(self.distance_spacing if spacing is None else spacing, logits.ndim - 2)
        return self.blend(logits, target, self.distance_term(logits, target, sampling))


@register_loss("boundary", needs_dtm=True, composite=True)
class BoundaryLoss(DistanceLoss):
    """Boundary loss: mean of ``phi * p`` with ``phi`` the target's signed distance map, blended with Dice.

    Minimal when the predicted mass lies inside the target (where ``phi < 0``); unlike Dice it sees
    how far a false positive is from the structure. Reference: Kervadec et al., Boundary loss for
    highly unbalanced segmentation, MIDL 2019 / Medical Image Analysis 2021.
    """

    term_name = "boundary"  # the parameters and defaults are DistanceLoss's (region: Dice)

    @override
    def distance_term(
        self, logits: torch.Tensor, target: torch.Tensor, spacing: tuple[float, ...]
    ) -> torch.Tensor:
        """``mean(phi * p)`` over samples, foreground channels and voxels."""
        phi = self.target_distance_maps(target, spacing, logits.device)
        return (phi * self.foreground(self.probabilities(logits))).mean()


@register_loss("hausdorff_dt", needs_dtm=True, composite=True)
class HausdorffDTLoss(DistanceLoss):
    """Distance-transform Hausdorff loss ``mean((p - t)^2 (d_t^k + d_p^k))``, blended with Dice.

    ``d_t`` and ``d_p`` are the unsigned distances (``|phi|``) to the boundary of the target and of
    the thresholded prediction (``p > 0.5``, recomputed every call, no gradient), ``k`` the
    ``exponent`` (Karimi's alpha, 2). Errors far from either boundary cost most, which approximates
    the Hausdorff distance. Reference: Karimi & Salcudean, Reducing the Hausdorff distance in
    medical image segmentation with convolutional neural networks, IEEE TMI 2020.
    """

    term_name = "hausdorff"

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        spacing: Sequence[float],
        schedule: AlphaSchedule | None = None,
        *,
        exponent: float = 2.0,
        normalize_dtm: bool = True,
        region: Region = "dice",
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(
            out_channels,
            activation,
            spacing,
            schedule,
            normalize_dtm=normalize_dtm,
            region=region,
            smooth=smooth,
            include_background=include_background,
            batch_dice=batch_dice,
        )
        self.exponent = check_number("exponent", exponent, low=0)

    @override
    def distance_term(
        self, logits: torch.Tensor, target: torch.Tensor, spacing: tuple[float, ...]
    ) -> torch.Tensor:
        """The Hausdorff-DT term over samples, foreground channels and voxels."""
        probs = self.foreground(self.probabilities(logits))
        truth = self.foreground(self.binary_target(target))
        d_target = self.target_distance_maps(target, spacing, logits.device).abs()
        d_pred = distance_maps_like(probs > 0.5, spacing, self.normalize_dtm, logits.device).abs()
        weight = d_target.pow(self.exponent) + d_pred.pow(self.exponent)
        return ((probs - truth) ** 2 * weight).mean()


@register_loss("gsl", needs_dtm=True, composite=True)
class GeneralizedSurfaceLoss(DistanceLoss):
    """Generalized surface loss ``1 - sum (phi (1 - t - p))^2 / sum phi^2``, blended with Dice + CE.

    Per sample and foreground channel, then averaged; 0 for a perfect prediction, 1 for the
    complement. As MIST, the region term defaults to Dice + CE. Reference: Celaya et al.,
    A generalized surface loss for reducing the Hausdorff distance in medical imaging segmentation,
    arXiv:2302.03868 (MIST's ``gsl``).
    """

    term_name = "surface"

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        spacing: Sequence[float],
        schedule: AlphaSchedule | None = None,
        *,
        normalize_dtm: bool = True,
        region: Region = "dice_ce",
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(
            out_channels,
            activation,
            spacing,
            schedule,
            normalize_dtm=normalize_dtm,
            region=region,
            smooth=smooth,
            include_background=include_background,
            batch_dice=batch_dice,
        )

    @override
    def distance_term(
        self, logits: torch.Tensor, target: torch.Tensor, spacing: tuple[float, ...]
    ) -> torch.Tensor:
        """The surface term, mean over samples and foreground channels."""
        phi = self.target_distance_maps(target, spacing, logits.device)
        probs = self.foreground(self.probabilities(logits))
        truth = self.foreground(self.binary_target(target))
        dims = tuple(range(2, phi.ndim))
        numerator = ((phi * (1 - truth - probs)) ** 2).sum(dims)
        denominator = (phi**2).sum(dims).clamp_min(1e-12)
        return (1 - numerator / denominator).mean()
