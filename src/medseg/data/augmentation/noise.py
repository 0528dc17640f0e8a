"""Additive Gaussian noise (nnU-Net: p=0.1, std drawn uniformly from (0, 0.1), same for all channels)."""

from __future__ import annotations

import torch
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, generator_device, per_sample_channel, uniform


class GaussianNoise(Transform):
    """Add zero-mean Gaussian noise of standard deviation ``std`` (scalar, ``(B,)`` or ``(B, C)``).

    The noise itself is drawn from the generator passed at call time (on its device).
    """

    def __init__(self, std: float | torch.Tensor) -> None:
        self.std = std

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        std = per_sample_channel(self.std, image.shape[0], image.shape[1], image)
        device = generator_device(generator) if generator is not None else image.device
        noise = torch.randn(image.shape, generator=generator, device=device, dtype=image.dtype).to(
            image.device
        )
        return {**batch, "image": noise.mul_(std).add_(image)}


class RandomGaussianNoise(RandomTransform):
    """With probability ``p`` per sample, add noise with std uniform in ``std_range``.

    nnU-Net v2 defaults: ``p=0.1``, ``std_range=(0, 0.1)`` (its ``noise_variance`` is used as the
    standard deviation), one std for all channels (``per_channel=False``).
    """

    def __init__(self, p: float = 0.1, std_range: Range = (0.0, 0.1), per_channel: bool = False) -> None:
        super().__init__(p)
        self.std_range = std_range
        self.per_channel = per_channel

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        b, c = batch["image"].shape[:2]
        std = uniform(self.std_range, (b, c if self.per_channel else 1), generator).expand(b, c)
        return GaussianNoise(std)
