"""A smooth multiplicative bias field: ``exp`` of a polynomial in the voxel coordinates.

Not part of nnU-Net's set; it mimics MRI intensity inhomogeneity like TorchIO's ``RandomBiasField``
(defaults: coefficients in (-0.5, 0.5), polynomial order 3). Coordinates run from -1 to 1 along
each spatial axis (voxel centres, half-voxel aligned).
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch, Range, uniform


def polynomial_exponents(order: int, spatial_dims: int) -> list[tuple[int, ...]]:
    """All exponent tuples (one per axis, in array order) of total degree ``<= order``, constant first."""
    combos = itertools.product(range(order + 1), repeat=spatial_dims)
    return sorted((e for e in combos if sum(e) <= order), key=lambda e: (sum(e), tuple(-x for x in e)))


def axis_coordinates(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> list[Tensor]:
    """Per-axis voxel-centre coordinates in (-1, 1), shaped to broadcast over ``shape``."""
    coords = []
    for axis, size in enumerate(shape):
        line = (2 * torch.arange(size, device=device, dtype=dtype) + 1) / size - 1
        view = [1] * len(shape)
        view[axis] = size
        coords.append(line.reshape(view))
    return coords


class BiasField(Transform):
    """Multiply by ``exp(sum_k coefficients[:, k] * prod_a x_a ** e_ka)``.

    ``coefficients`` is ``(B, K)`` (or ``(K,)`` for all samples), ordered like
    :func:`polynomial_exponents` ``(order, spatial_dims)``; one field per sample for all channels.
    """

    def __init__(self, coefficients: Tensor, order: int = 3) -> None:
        self.coefficients = coefficients
        self.order = order

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        image = batch["image"]
        shape = tuple(image.shape[2:])
        exponents = polynomial_exponents(self.order, len(shape))
        coeffs = torch.as_tensor(self.coefficients, dtype=image.dtype).to(image.device)
        coeffs = coeffs.expand(image.shape[0], len(exponents))
        coords = axis_coordinates(shape, image.device, image.dtype)
        log_field = torch.zeros((image.shape[0], *shape), device=image.device, dtype=image.dtype)
        for k, exps in enumerate(exponents):
            term = torch.ones((1,) * len(shape), device=image.device, dtype=image.dtype)
            for axis, e in enumerate(exps):
                if e:
                    term = term * coords[axis] ** e
            log_field = log_field + coeffs[:, k].reshape(-1, *([1] * len(shape))) * term
        return {**batch, "image": image * torch.exp(log_field)[:, None]}


class RandomBiasField(RandomTransform):
    """With probability ``p`` per sample, apply a bias field with coefficients uniform in ``coefficient_range``."""

    def __init__(self, p: float = 0.1, coefficient_range: Range = (-0.5, 0.5), order: int = 3) -> None:
        super().__init__(p)
        self.coefficient_range = coefficient_range
        self.order = order

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        n_terms = len(polynomial_exponents(self.order, batch["image"].ndim - 2))
        coeffs = uniform(self.coefficient_range, (batch["image"].shape[0], n_terms), generator)
        return BiasField(coeffs, self.order)
