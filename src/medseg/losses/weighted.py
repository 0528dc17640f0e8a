"""Class-weighted losses: weighted cross-entropy and weighted (generalized) Dice.

Weights come from ``class_weights`` in ``training.loss_params`` or, by default, from the class
frequencies of the training data by the inverse-frequency rule of :mod:`medseg.losses.weights`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from typing_extensions import override

from medseg.core.errors import ConfigError
from medseg.losses.base import Activation, SegmentationLoss, check_number
from medseg.losses.registry import register_loss
from medseg.losses.weights import inverse_frequency_weights, resolve_class_weights

WeightType = Literal["frequency", "square", "simple", "uniform"]
WEIGHT_TYPES: tuple[str, ...] = get_args(WeightType)


def _inside_weights(class_frequencies: Sequence[float]) -> list[float]:
    """Per sigmoid channel, the weight of an inside voxel when an outside voxel weighs 1: the
    inverse-frequency rule on the (outside, inside) split, ``(1 / f) / (1 / (1 - f)) = (1 - f) / f``."""
    weights = []
    for c, f in enumerate(class_frequencies):
        if not 0 < f < 1:
            raise ConfigError(
                f"training.loss_params.class_weights: region {c} covers a fraction {f:g} of the "
                "training voxels, so inverse-frequency weights are undefined; give class_weights"
            )
        outside, inside = inverse_frequency_weights([1 - f, f])
        weights.append(inside / outside)
    return weights


@register_loss("ce_weighted")
class WeightedCELoss(SegmentationLoss):
    """Class-weighted cross-entropy ``sum_i w_i CE_i / sum_i w_i`` (a weighted mean over voxels).

    Softmax: ``w_i`` is the weight of voxel ``i``'s true class (PyTorch's ``cross_entropy(weight=)``).
    Sigmoid: each channel is a two-class problem; a voxel inside region ``c`` weighs
    ``class_weights[c]`` and one outside weighs 1, or with frequencies the inverse-frequency rule on
    (outside, inside), i.e. inside voxels count ``(1 - f_c) / f_c`` times as much.
    Reference: Ronneberger et al., U-Net, MICCAI 2015 (weighted CE); Long et al., FCN, CVPR 2015.
    """

    class_weights: torch.Tensor

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        class_frequencies: Sequence[float] | None = None,
        *,
        class_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(out_channels, activation, include_background=True)
        if activation == "sigmoid" and class_weights is None and class_frequencies is not None:
            if len(class_frequencies) != out_channels:
                raise ValueError(
                    f"class_frequencies has {len(class_frequencies)} values, expected {out_channels}"
                )
            weights = _inside_weights(class_frequencies)
        else:
            weights = resolve_class_weights("ce_weighted", out_channels, class_frequencies, class_weights)
        self.register_buffer("class_weights", torch.tensor(weights, dtype=torch.float32))

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Weighted mean cross-entropy of the logits against the target."""
        self.check_shapes(logits, target)
        logits = logits.float()
        weights = self.class_weights
        if self.softmax:
            ce = F.cross_entropy(logits, target[:, 0].long(), weight=weights.to(logits.device))
        else:
            binary = self.binary_target(target)
            shape = (1, -1) + (1,) * (logits.ndim - 2)
            inside = weights.to(logits.device).view(shape)
            element = binary * inside + (1 - binary)
            bce = F.binary_cross_entropy_with_logits(logits, binary, reduction="none")
            ce = (element * bce).sum() / element.sum().clamp_min(1e-12)
        self.report({"ce": ce})
        return ce


def batch_weights(sums: torch.Tensor, weight_type: str) -> torch.Tensor:
    """Sudre's per-batch class weights from the target volumes ``sums``: ``1/V^2``, ``1/V`` or 1.

    An empty class (infinite weight) gets the largest finite weight, as in the reference.
    """
    if weight_type == "uniform":
        return torch.ones_like(sums)
    weights = 1.0 / (sums * sums if weight_type == "square" else sums)
    infinite = torch.isinf(weights)
    weights = weights.masked_fill(infinite, 0.0)
    largest = weights.amax(dim=-1, keepdim=True)
    return torch.where(infinite, largest, weights)


@register_loss("dice_weighted")
class GeneralizedDiceLoss(SegmentationLoss):
    """Weighted (generalized) Dice ``1 - (2 sum_c w_c I_c + s) / (sum_c w_c U_c + s)``.

    ``I_c`` and ``U_c`` are the soft intersection and the sum of prediction and target of class
    ``c``. Weights: ``class_weights`` if given; else ``weight_type``: ``frequency`` (inverse class
    frequency of the training data, the default), or Sudre's per-batch ``square`` (``1/V_c^2``),
    ``simple`` (``1/V_c``) or ``uniform``. They are scaled to sum 1 before use, so ``smooth`` acts
    on the same scale whatever the rule.
    Reference: Sudre et al., Generalised Dice overlap as a deep learning loss function, DLMIA 2017.
    """

    fixed_weights: torch.Tensor

    def __init__(
        self,
        out_channels: int,
        activation: Activation,
        class_frequencies: Sequence[float] | None = None,
        *,
        class_weights: Sequence[float] | None = None,
        weight_type: WeightType = "frequency",
        smooth: float = 1e-5,
        include_background: bool = False,
        batch_dice: bool = True,
    ) -> None:
        super().__init__(out_channels, activation, include_background)
        if weight_type not in WEIGHT_TYPES:
            raise ConfigError(
                f"training.loss_params.weight_type: must be one of {', '.join(WEIGHT_TYPES)}, "
                f"got {weight_type!r}"
            )
        self.smooth = check_number("smooth", smooth, low=0)
        self.batch_dice = bool(batch_dice)
        self.weight_type = "fixed" if class_weights is not None else weight_type
        fixed: list[float] = [1.0] * out_channels
        if self.weight_type in ("fixed", "frequency"):
            fixed = resolve_class_weights("dice_weighted", out_channels, class_frequencies, class_weights)
        self.register_buffer("fixed_weights", torch.tensor(fixed, dtype=torch.float32))

    @override
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Generalized Dice loss of the probabilities against the target."""
        self.check_shapes(logits, target)
        probs = self.overlap_channels(self.probabilities(logits))
        binary = self.overlap_channels(self.binary_target(target))
        dims = (0, *range(2, probs.ndim)) if self.batch_dice else tuple(range(2, probs.ndim))
        intersection = (probs * binary).sum(dims)
        union = probs.sum(dims) + binary.sum(dims)
        if self.weight_type in ("fixed", "frequency"):
            fixed = self.fixed_weights
            fixed = fixed[1:] if self.softmax and not self.include_background else fixed
            weights = fixed.to(probs.device).expand_as(union)
        else:
            weights = batch_weights(binary.sum(dims), self.weight_type)
        total = weights.sum(-1, keepdim=True)
        weights = torch.where(total > 0, weights / total.clamp_min(1e-30), 1.0 / weights.shape[-1])
        numerator = 2 * (weights * intersection).sum(-1) + self.smooth
        denominator = (weights * union).sum(-1) + self.smooth
        loss = 1 - (numerator / denominator).mean()
        self.report({"dice_loss": loss})
        return loss
