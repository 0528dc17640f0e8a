"""Deep supervision: one loss over the outputs of several decoder resolutions."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medseg.losses.dtm import SpacingAware


def deep_supervision_weights(num_outputs: int, drop_lowest: bool = True) -> list[float]:
    """Weights ``2^-i`` normalised to sum 1; the lowest resolution gets 0 when ``drop_lowest``.

    This is nnU-Net's rule: the coarsest output is too coarse to help, so it is not supervised.
    """
    if num_outputs < 1:
        raise ValueError("num_outputs must be >= 1")
    weights = [2.0**-i for i in range(num_outputs)]
    if drop_lowest and num_outputs > 1:
        weights[-1] = 0.0
    total = sum(weights)
    return [w / total for w in weights]


def downsample_target(target: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Nearest-neighbour resize of a target to ``shape``: labels ``(B, 1)`` or binary regions ``(B, C)``.

    Every channel is resized alike and the dtype is kept, so an integer label map stays integer and
    a float multi-channel region target stays 0/1 float.
    """
    if tuple(target.shape[2:]) == tuple(shape):
        return target
    return F.interpolate(target.float(), size=tuple(shape), mode="nearest-exact").to(target.dtype)


def scaled_spacing(spacing: Sequence[float], full: Sequence[int], shape: Sequence[int]) -> tuple[float, ...]:
    """The voxel spacing of a grid of ``shape`` covering the same extent as ``full`` at ``spacing``."""
    return tuple(float(s) * f / n for s, f, n in zip(spacing, full, shape))


class DeepSupervisionWrapper(nn.Module):
    """Wrap any ``loss(output, target)`` to accept a list of outputs, highest resolution first.

    Targets for the lower resolutions are made by nearest-neighbour downsampling of the full target.
    A loss that computes distance maps (:class:`~medseg.losses.dtm.SpacingAware`) is given the
    spacing of each lower resolution (the full-resolution spacing times the downsampling factor per
    axis), so its maps stay in mm. ``last_components`` reports the wrapped loss's components at full
    resolution.
    """

    def __init__(self, loss: nn.Module, weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.loss = loss
        self.weights = list(weights) if weights is not None else None
        self.last_components: dict[str, float] = {}

    def forward(self, outputs: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        """Weighted sum of the loss at every resolution (a plain tensor is one output)."""
        if isinstance(outputs, torch.Tensor):
            outputs = [outputs]
        weights = self.weights or deep_supervision_weights(len(outputs))
        if len(weights) < len(outputs):
            raise ValueError(f"{len(outputs)} outputs but only {len(weights)} weights")
        total: torch.Tensor | None = None
        components: dict[str, float] = {}
        unused: list[torch.Tensor] = []
        for i, (output, weight) in enumerate(zip(outputs, weights)):
            if weight == 0:
                unused.append(output)
                continue
            small = downsample_target(target, output.shape[2:])
            if isinstance(self.loss, SpacingAware):
                spacing = scaled_spacing(self.loss.distance_spacing, target.shape[2:], output.shape[2:])
                term = weight * self.loss(output, small, spacing=spacing)
            else:
                term = weight * self.loss(output, small)
            if i == 0:
                components = dict(getattr(self.loss, "last_components", {}))
            total = term if total is None else total + term
        if total is None:
            raise ValueError("all deep-supervision weights are zero")
        for output in unused:  # zero-weight heads stay in the graph (a zero gradient), as DDP requires
            total = total + 0.0 * output.float().mean()
        self.last_components = components
        return total
