"""Multiplicative brightness (nnU-Net: p=0.15, multiplier in (0.75, 1.25), per channel)."""

from __future__ import annotations

import torch
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, per_sample_channel, uniform_around_one


class Brightness(Transform):
    """Multiply the image by ``multiplier`` (scalar, ``(B,)`` or ``(B, C)``)."""

    def __init__(self, multiplier: float | torch.Tensor) -> None:
        self.multiplier = multiplier

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        factor = per_sample_channel(self.multiplier, image.shape[0], image.shape[1], image)
        return {**batch, "image": image * factor}


class RandomBrightness(RandomTransform):
    """With probability ``p`` per sample, multiply each channel by a factor drawn from ``multiplier_range``.

    nnU-Net v2 defaults: ``p=0.15``, ``multiplier_range=(0.75, 1.25)`` drawn like its ``BGContrast``
    (half the time below one), one factor per channel.
    """

    def __init__(self, p: float = 0.15, multiplier_range: Range = (0.75, 1.25)) -> None:
        super().__init__(p)
        self.multiplier_range = multiplier_range

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        b, c = batch["image"].shape[:2]
        return Brightness(uniform_around_one(self.multiplier_range, (b, c), generator))
