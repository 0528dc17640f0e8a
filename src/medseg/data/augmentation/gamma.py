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
        image = batch["image"]
        b, c = image.shape[:2]
        keep = (b, c) + (1,) * (image.ndim - 2)
        gamma = per_sample_channel(self.gamma, b, c, image)
        flat = image.reshape(b, c, -1)
        low, high = (v.reshape(keep) for v in torch.aminmax(flat, dim=2))
        span = high - low
        # the inverted image -x has minimum -high, so its normalised form is (high - x) / span
        shifted = (high - image) if self.invert else (image - low)
        powered = shifted.div_(span + 1e-7).pow_(gamma)
        sign = -1.0 if self.invert else 1.0
        if not self.retain_stats:
            # (powered * span + min(-x)) negated back, or powered * span + low
            return {**batch, "image": powered.mul_(sign * span).add_(high if self.invert else low)}
        # (powered * span + shift) re-standardised: span and shift cancel, one affine map remains
        std, mean = _std_mean(flat)
        new_std, new_mean = _std_mean(powered.reshape(b, c, -1))
        gain = sign * std / (new_std + 1e-8 / span.reshape(b, c))
        out = powered.sub_(new_mean.reshape(keep)).mul_(gain.reshape(keep)).add_(mean.reshape(keep))
        return {**batch, "image": out}


def _std_mean(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unbiased std and mean over the last axis (two-pass; faster than ``torch.std_mean`` on the CPU)."""
    mean = flat.mean(dim=-1, keepdim=True)
    var = (flat - mean).square_().sum(dim=-1) / max(flat.shape[-1] - 1, 1)
    return var.sqrt(), mean.squeeze(-1)


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
