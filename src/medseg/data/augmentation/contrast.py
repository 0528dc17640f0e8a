"""Contrast around the mean, optionally clipped to the original range (nnU-Net: p=0.15, (0.75, 1.25))."""

from __future__ import annotations

import torch
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, per_sample_channel, uniform_around_one


class Contrast(Transform):
    """``(x - mean) * factor + mean`` per sample and channel; with ``preserve_range`` clip to the old min/max."""

    def __init__(self, factor: float | torch.Tensor, preserve_range: bool = True) -> None:
        self.factor = factor
        self.preserve_range = preserve_range

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        b, c = image.shape[:2]
        factor = per_sample_channel(self.factor, b, c, image)
        flat = image.reshape(b, c, -1)
        keep = (1,) * (image.ndim - 2)
        mean = flat.mean(dim=2).reshape(b, c, *keep)
        out = (image - mean).mul_(factor).add_(mean)
        if self.preserve_range:
            low, high = torch.aminmax(flat, dim=2)
            out = out.clamp_(low.reshape(b, c, *keep), high.reshape(b, c, *keep))
        return {**batch, "image": out}


class RandomContrast(RandomTransform):
    """With probability ``p`` per sample, change each channel's contrast by a factor from ``factor_range``.

    nnU-Net v2 defaults: ``p=0.15``, ``factor_range=(0.75, 1.25)`` (``BGContrast`` draw),
    ``preserve_range=True``, one factor per channel.
    """

    def __init__(
        self, p: float = 0.15, factor_range: Range = (0.75, 1.25), preserve_range: bool = True
    ) -> None:
        super().__init__(p)
        self.factor_range = factor_range
        self.preserve_range = preserve_range

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        b, c = batch["image"].shape[:2]
        return Contrast(uniform_around_one(self.factor_range, (b, c), generator), self.preserve_range)
