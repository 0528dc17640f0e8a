"""Rotation, scaling and elastic deformation, composed into one ``grid_sample`` per batch.

nnU-Net v2 defaults (``nnUNetTrainer.get_training_transforms``): rotation with p=0.2, angles
uniform in ±30° about each axis in 3D (±180° in 2D, ±15° for 2D patches with aspect ratio > 1.5);
scaling with p=0.2, one factor uniform in (0.7, 1.4) for all axes; elastic deformation off
(``p_elastic_deform=0``). Images are interpolated linearly (3D) or bicubically (2D), labels with
nearest neighbour; outside the input, images read ``image_fill`` and labels ``label_fill``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import override

from medseg.data.augmentation.affine import rotation_matrix, sampling_grid
from medseg.data.augmentation.base import RandomTransform, Transform, apply_to_subset
from medseg.data.augmentation.batch import Batch, Range, draw_mask, uniform
from medseg.data.augmentation.elastic import random_displacement

ImageMode = Literal["linear", "cubic", "nearest"]
_GRID_MODES = {"linear": "bilinear", "cubic": "bicubic", "nearest": "nearest"}


def _resample(tensor: Tensor, grid: Tensor, mode: str, fill: float) -> Tensor:
    """``grid_sample`` with a constant ``fill`` outside (sampling ``tensor - fill`` with zero padding)."""
    shifted = tensor - fill if fill else tensor
    out = F.grid_sample(shifted, grid, mode=mode, padding_mode="zeros", align_corners=False)
    return out + fill if fill else out


def default_rotation_range(patch: tuple[int, ...]) -> Range:
    """nnU-Net's rotation range in degrees: ±30° in 3D; in 2D ±180°, or ±15° if the patch is elongated (> 1.5)."""
    if len(patch) == 3:
        return (-30.0, 30.0)
    return (-15.0, 15.0) if max(patch) / min(patch) > 1.5 else (-180.0, 180.0)


class SpatialTransform(Transform):
    """Resample image and label through ``rotation`` (degrees), ``scale`` and ``displacement`` at once.

    ``rotation``: scalar or ``(B,)`` in 2D, ``(3,)`` or ``(B, 3)`` in 3D. ``scale``: scalar, ``(B,)``
    or ``(B, dims)`` multiplying the sampling coordinates before the rotation (> 1 zooms out).
    ``displacement``: ``(B, dims, *spatial)`` voxels added to the sampling coordinates. ``image_mode``
    ``None`` picks cubic in 2D and linear in 3D.
    """

    def __init__(
        self,
        rotation: float | Tensor | None = None,
        scale: float | Tensor | None = None,
        displacement: Tensor | None = None,
        image_mode: ImageMode | None = None,
        image_fill: float = 0.0,
        label_fill: int = 0,
    ) -> None:
        self.rotation = rotation
        self.scale = scale
        self.displacement = displacement
        self.image_mode = image_mode
        self.image_fill = image_fill
        self.label_fill = label_fill

    def matrices(self, batch_size: int, dims: int, device: torch.device) -> Tensor:
        """The ``(B, dims, dims)`` pull matrices ``R @ S`` in array order."""
        matrix = torch.eye(dims, dtype=torch.float32).repeat(batch_size, 1, 1)
        if self.rotation is not None:
            degrees = torch.as_tensor(self.rotation, dtype=torch.float32).cpu()
            degrees = (
                degrees.expand(batch_size) if dims == 2 else degrees.reshape(-1, 3).expand(batch_size, 3)
            )
            matrix = rotation_matrix(degrees, dims)
        if self.scale is not None:
            scale = torch.as_tensor(self.scale, dtype=torch.float32).cpu()
            scale = scale.reshape(-1, 1) if scale.ndim <= 1 else scale
            matrix = matrix * scale.expand(batch_size, dims)[:, None, :]
        return matrix.to(device)

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        dims = image.ndim - 2
        mode = self.image_mode or ("cubic" if dims == 2 else "linear")
        if mode == "cubic" and dims == 3:
            raise ValueError(
                "SpatialTransform: image_mode='cubic' is only available in 2D (torch grid_sample)"
            )
        matrix = self.matrices(image.shape[0], dims, image.device).to(image.dtype)
        displacement = None if self.displacement is None else self.displacement.to(image.device, image.dtype)
        grid = sampling_grid(matrix, tuple(image.shape[2:]), displacement)
        out = {**batch, "image": _resample(image, grid, _GRID_MODES[mode], self.image_fill)}
        if "label" in batch:
            label = batch["label"]
            moved = _resample(label.to(grid.dtype), grid, "nearest", float(self.label_fill))
            out["label"] = moved.to(label.dtype)  # nearest neighbour: exact integers already
        return out


class RandomSpatialTransform(RandomTransform):
    """Rotation (``p_rotation``), scaling (``p_scaling``) and elastic deformation (``p_elastic``), drawn per sample.

    Only samples that draw at least one of the three are resampled, all in one ``grid_sample``.
    ``rotation_range`` (degrees, for every axis) ``None`` means :func:`default_rotation_range`.
    ``elastic_spacing_range`` is the control-point spacing and ``elastic_magnitude_range`` the
    displacement standard deviation, both in voxels (see :mod:`medseg.data.augmentation.elastic`).
    """

    def __init__(
        self,
        p_rotation: float = 0.2,
        rotation_range: Range | None = None,
        p_scaling: float = 0.2,
        scaling_range: Range = (0.7, 1.4),
        p_elastic: float = 0.0,
        elastic_spacing_range: Range = (8.0, 16.0),
        elastic_magnitude_range: Range = (0.0, 4.0),
        image_mode: ImageMode | None = None,
        image_fill: float = 0.0,
        label_fill: int = 0,
    ) -> None:
        super().__init__(1.0)
        for name, p in (("p_rotation", p_rotation), ("p_scaling", p_scaling), ("p_elastic", p_elastic)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"RandomSpatialTransform: {name} must be in [0, 1], got {p}")
        self.p_rotation = p_rotation
        self.rotation_range = rotation_range
        self.p_scaling = p_scaling
        self.scaling_range = scaling_range
        self.p_elastic = p_elastic
        self.elastic_spacing_range = elastic_spacing_range
        self.elastic_magnitude_range = elastic_magnitude_range
        self.image_mode = image_mode
        self.image_fill = image_fill
        self.label_fill = label_fill

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None, inplace: bool = False) -> Batch:
        n = batch["image"].shape[0]
        rotate = draw_mask(n, self.p_rotation, generator)
        scale = draw_mask(n, self.p_scaling, generator)
        deform = draw_mask(n, self.p_elastic, generator)
        chosen = torch.nonzero(rotate | scale | deform).flatten()
        masks = (rotate[chosen], scale[chosen], deform[chosen])
        return apply_to_subset(
            batch, chosen, lambda part: self._draw(part, *masks, generator).apply(part), inplace
        )

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        n = batch["image"].shape[0]
        return self._draw(batch, *(torch.ones(n, dtype=torch.bool),) * 3, generator=generator)

    def _draw(
        self, batch: Batch, rotate: Tensor, scale: Tensor, deform: Tensor, generator: torch.Generator | None
    ) -> SpatialTransform:
        """Parameters for every sample of ``batch``; the masks switch each component off per sample."""
        image = batch["image"]
        n, dims, shape = image.shape[0], image.ndim - 2, tuple(image.shape[2:])
        value_range = self.rotation_range or default_rotation_range(shape)
        angles = uniform(value_range, (n, 1 if dims == 2 else 3), generator)
        angles = (angles * rotate[:, None]).cpu()
        factors = uniform(self.scaling_range, (n,), generator)
        factors = torch.where(scale, factors, torch.ones_like(factors)).cpu()
        displacement = None
        if bool(deform.any()):
            displacement = torch.zeros((n, dims, *shape), device=image.device)
            spacings = uniform(self.elastic_spacing_range, (n,), generator).tolist()
            magnitudes = uniform(self.elastic_magnitude_range, (n,), generator).tolist()
            for i in torch.nonzero(deform.cpu()).flatten().tolist():
                displacement[i] = random_displacement(
                    shape, spacings[i], magnitudes[i], generator, image.device
                )
        return SpatialTransform(
            rotation=angles.reshape(n) if dims == 2 else angles,
            scale=factors,
            displacement=displacement,
            image_mode=self.image_mode,
            image_fill=self.image_fill,
            label_fill=self.label_fill,
        )
