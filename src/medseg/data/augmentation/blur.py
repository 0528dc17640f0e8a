"""Gaussian blur by separable 1-D convolutions (nnU-Net: p=0.2, sigma in (0.5, 1), per channel 0.5).

Every sample, channel and axis may have its own sigma: one grouped convolution per axis blurs the
whole batch. Kernels are truncated at ``int(truncate * sigma + 0.5)`` voxels like
:func:`scipy.ndimage.gaussian_filter` and the borders are mirrored without repeating the edge voxel
(scipy's ``mode="mirror"``, torch's ``"reflect"`` padding). A sigma of 0 leaves that axis unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, channel_mask, uniform


def gaussian_kernels(sigma: Tensor, truncate: float, radius: int) -> Tensor:
    """``(N, 2 * radius + 1)`` normalised kernels for sigmas ``(N,)``, each cut at its own radius."""
    offsets = torch.arange(-radius, radius + 1, device=sigma.device, dtype=sigma.dtype)
    safe = sigma.clamp_min(1e-12)[:, None]
    own_radius = torch.floor(truncate * sigma + 0.5)[:, None]
    weights = torch.exp(-0.5 * (offsets[None, :] / safe) ** 2) * (offsets.abs()[None, :] <= own_radius)
    return weights / weights.sum(dim=1, keepdim=True)


def blur_axis(image: Tensor, sigma: Tensor, axis: int, truncate: float) -> Tensor:
    """Blur ``image`` ``(B, C, *spatial)`` along spatial ``axis`` with per-(B, C) ``sigma``.

    A weighted sum of shifted views of the padded image (one fused multiply-add per kernel tap):
    faster on the CPU than a grouped convolution along the slow axes, and as fast on the GPU.
    """
    b, c = image.shape[:2]
    spatial = image.shape[2:]
    radius = min(math.floor(truncate * float(sigma.max()) + 0.5), spatial[axis] - 1)
    if radius <= 0:
        return image
    kernels = gaussian_kernels(sigma.reshape(-1).to(image.dtype), truncate, radius)
    kernels = kernels.reshape(b, c, *([1] * len(spatial)), 2 * radius + 1)
    pad = [0, 0] * len(spatial)
    pad[2 * (len(spatial) - 1 - axis)] = radius
    pad[2 * (len(spatial) - 1 - axis) + 1] = radius
    padded = F.pad(image, pad, mode="reflect")
    size = spatial[axis]
    out = padded.narrow(2 + axis, 0, size) * kernels[..., 0]
    for tap in range(1, 2 * radius + 1):
        out.addcmul_(padded.narrow(2 + axis, tap, size), kernels[..., tap])
    return out


class GaussianBlur(Transform):
    """Blur with ``sigma`` (voxels): scalar, ``(B, C)`` or ``(B, C, spatial_dims)`` per axis."""

    def __init__(self, sigma: float | Tensor, truncate: float = 4.0) -> None:
        self.sigma = sigma
        self.truncate = truncate

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        b, c = image.shape[:2]
        dims = image.ndim - 2
        sigma = torch.as_tensor(self.sigma, dtype=torch.float32).to(image.device)
        if sigma.ndim < 3:
            sigma = sigma.reshape(*sigma.shape, *([1] * (3 - sigma.ndim)))
        sigma = sigma.expand(b, c, dims)
        out = image
        for axis in range(dims):
            out = blur_axis(out, sigma[..., axis], axis, self.truncate)
        return {**batch, "image": out}


class RandomGaussianBlur(RandomTransform):
    """With probability ``p`` per sample, blur each channel (with ``p_per_channel``) by a drawn sigma.

    nnU-Net v2 defaults: ``p=0.2``, ``sigma_range=(0.5, 1.0)``, ``p_per_channel=0.5``, an independent
    sigma per channel and per axis (``per_axis=True``).
    """

    def __init__(
        self,
        p: float = 0.2,
        sigma_range: Range = (0.5, 1.0),
        p_per_channel: float = 0.5,
        per_axis: bool = True,
    ) -> None:
        super().__init__(p)
        self.sigma_range = sigma_range
        self.p_per_channel = p_per_channel
        self.per_axis = per_axis

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        b, c = batch["image"].shape[:2]
        dims = batch["image"].ndim - 2
        sigma = uniform(self.sigma_range, (b, c, dims if self.per_axis else 1), generator).expand(b, c, dims)
        active = channel_mask((b, c), self.p_per_channel, generator)
        return GaussianBlur(sigma * active[..., None])
