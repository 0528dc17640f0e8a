"""Smooth random displacement fields for elastic deformation.

Gaussian noise on a coarse grid of control points ``spacing`` voxels apart is interpolated
(trilinear in 3D, bicubic in 2D, corner-aligned) to the patch, giving a field that varies smoothly
on the scale of ``spacing``; ``magnitude`` is the standard deviation of the displacement at the
control points, in voxels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from medseg.data.augmentation.batch import generator_device


def random_displacement(
    shape: tuple[int, ...],
    spacing: float,
    magnitude: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """One ``(len(shape), *shape)`` displacement field (voxels, array order) on ``device``."""
    dims = len(shape)
    coarse = tuple(max(2, math.ceil(size / max(spacing, 1.0)) + 1) for size in shape)
    noise = torch.randn((1, dims, *coarse), generator=generator, device=generator_device(generator))
    mode = "trilinear" if dims == 3 else "bicubic"
    field = F.interpolate(noise.to(device) * magnitude, size=shape, mode=mode, align_corners=True)
    return field[0]
