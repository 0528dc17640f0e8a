"""Gamma on the min-max normalised intensities, optionally of the inverted image, keeping mean and std.

nnU-Net v2 applies it twice: on the inverted image with p=0.1, then on the image with p=0.3; both
with gamma in (0.7, 1.5) (``BGContrast`` draw) and statistics retained.
"""

from __future__ import annotations

import torch
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, per_sample_channel, uniform_around_one


class Gamma(Transform):
    """``((x - min) / range) ** gamma * range + min`` per sample and channel.

    ``invert`` applies it to ``-x`` (then negates back), which brightens where plain gamma darkens;
    ``retain_stats`` restores each channel's mean and (unbiased) standard deviation afterwards.
    """

    def __init__(self, gamma: float | torch.Tensor, invert: bool = False, retain_stats: bool = True) -> None:
        self.gamma = gamma
        self.invert = invert
        self.retain_stats = retain_stats

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = -batch["image"] if self.invert else batch["image"]
        b, c = image.shape[:2]
        keep = (1,) * (image.ndim - 2)
        gamma = per_sample_channel(self.gamma, b, c, image)
        flat = image.reshape(b, c, -1)
        low = flat.amin(dim=2).reshape(b, c, *keep)
        span = flat.amax(dim=2).reshape(b, c, *keep) - low
        out = ((image - low) / (span + 1e-7)).pow(gamma) * span + low
        if self.retain_stats:
            mean = flat.mean(dim=2).reshape(b, c, *keep)
            std = flat.std(dim=2).reshape(b, c, *keep)
            new_flat = out.reshape(b, c, -1)
            new_mean = new_flat.mean(dim=2).reshape(b, c, *keep)
            new_std = new_flat.std(dim=2).reshape(b, c, *keep)
            out = (out - new_mean) / (new_std + 1e-8) * std + mean
        return {**batch, "image": -out if self.invert else out}


class RandomGamma(RandomTransform):
    """With probability ``p`` per sample, apply :class:`Gamma` with per-channel gamma from ``gamma_range``.

    nnU-Net v2 defaults: ``gamma_range=(0.7, 1.5)``, ``retain_stats=True``; ``p=0.3`` (plain) or
    ``p=0.1`` with ``invert=True``.
    """

    def __init__(
        self, p: float = 0.3, gamma_range: Range = (0.7, 1.5), invert: bool = False, retain_stats: bool = True
    ) -> None:
        super().__init__(p)
        self.gamma_range = gamma_range
        self.invert = invert
        self.retain_stats = retain_stats

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        b, c = batch["image"].shape[:2]
        gamma = uniform_around_one(self.gamma_range, (b, c), generator)
        return Gamma(gamma, invert=self.invert, retain_stats=self.retain_stats)
