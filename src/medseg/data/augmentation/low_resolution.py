"""Simulated low resolution: downsample (nearest) and upsample back (linear in 3D, cubic in 2D).

nnU-Net v2 defaults: p=0.25, zoom in (0.5, 1) shared by all axes, each channel with p=0.5;
``ignore_axes`` keeps axes at full resolution (nnU-Net's "dummy 2D" mode ignores axis 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, channel_mask, uniform


class LowResolution(Transform):
    """Resample each (sample, channel) to ``round(shape * zoom)`` with nearest, then back to ``shape``.

    ``zoom`` is a scalar, ``(B,)`` or ``(B, C)``; a zoom of 1 leaves that channel untouched.
    Upsampling uses trilinear (3D) or bicubic (2D) interpolation with half-voxel (not corner)
    alignment.
    """

    def __init__(self, zoom: float | Tensor, ignore_axes: Sequence[int] = ()) -> None:
        self.zoom = zoom
        self.ignore_axes = tuple(ignore_axes)

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        b, c = image.shape[:2]
        shape = tuple(image.shape[2:])
        zoom = torch.as_tensor(self.zoom, dtype=torch.float64).cpu()
        zoom = (zoom[:, None] if zoom.ndim == 1 else zoom).expand(b, c)
        mode = "trilinear" if len(shape) == 3 else "bicubic"
        out = image.clone()
        for i, j in torch.nonzero(zoom < 1.0).tolist():
            z = float(zoom[i, j])
            small = tuple(
                size if axis in self.ignore_axes else max(1, round(size * z))
                for axis, size in enumerate(shape)
            )
            if small == shape:
                continue
            low = F.interpolate(image[i : i + 1, j : j + 1], size=small, mode="nearest-exact")
            out[i, j] = F.interpolate(low, size=shape, mode=mode, align_corners=False)[0, 0]
        return {**batch, "image": out}


class RandomLowResolution(RandomTransform):
    """With probability ``p`` per sample, simulate a zoom from ``zoom_range`` on each channel (``p_per_channel``).

    nnU-Net v2 defaults: ``p=0.25``, ``zoom_range=(0.5, 1.0)``, ``p_per_channel=0.5``, one zoom for
    all axes, a new zoom per channel.
    """

    def __init__(
        self,
        p: float = 0.25,
        zoom_range: Range = (0.5, 1.0),
        p_per_channel: float = 0.5,
        ignore_axes: Sequence[int] = (),
    ) -> None:
        super().__init__(p)
        self.zoom_range = zoom_range
        self.p_per_channel = p_per_channel
        self.ignore_axes = tuple(ignore_axes)

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        b, c = batch["image"].shape[:2]
        zoom = uniform(self.zoom_range, (b, c), generator)
        active = channel_mask((b, c), self.p_per_channel, generator)
        return LowResolution(torch.where(active, zoom, torch.ones_like(zoom)), self.ignore_axes)
