"""Candidates of the budget-aware planner: one network + width + depth + patch + batch (+ 2D or 3D).

A candidate is built through the network registry (:mod:`medseg.nets.registry`, queries only): its
patch is one the network accepts and its parameters are the ones the registry plans for that patch,
spacing and width, so the candidate the planner picks is exactly the network that trains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from medseg.core.topology import unet_topology
from medseg.nets.registry import NetworkEntry, fit_patch

#: widths tried (rounded to each network's width multiple)
FEATURES_BASE_CHOICES = (8, 16, 24, 32)
#: patch volumes tried, as fractions of the memory-planned patch
PATCH_VOLUME_FRACTIONS = (1.0, 0.5, 0.25, 0.125)
#: networks whose attention sees the whole patch (their receptive field is the patch)
GLOBAL_CONTEXT = frozenset(
    {
        "unetr",
        "swinunetr",
        "swinunetr-small",
        "swinunetr-base",
        "swinunetr-large",
        "transunet",
        "swintransunet",
    }
)


class Candidate(BaseModel):
    """One configuration the planner may choose (``spatial_dims`` 2 on 3D data = slice-wise)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    network: str
    spatial_dims: int
    features_base: int
    patch_size: list[int]
    batch_size: int
    max_poolings: int | None
    params: dict[str, Any]
    spacing: list[float]
    slices: bool = False

    @classmethod
    def build(
        cls,
        entry: NetworkEntry,
        features_base: int,
        patch_size: Sequence[int],
        batch_size: int,
        spacing: Sequence[float],
        max_poolings: int | None = None,
        slices: bool = False,
    ) -> Candidate:
        """A candidate with a patch the network accepts and the registry's planned parameters."""
        patch = fit_patch(entry.name, patch_size, spacing)
        width = entry.width(features_base) if entry.has_width else features_base
        params = entry.planned_params(patch, spacing, width, max_poolings)
        return cls(
            network=entry.name,
            spatial_dims=len(patch),
            features_base=width,
            patch_size=patch,
            batch_size=batch_size,
            max_poolings=max_poolings,
            params=params,
            spacing=[float(s) for s in spacing],
            slices=slices,
        )

    def _topology(self) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
        strides = self.params.get("pool_strides")
        kernels = self.params.get("conv_kernels")
        if strides is not None and kernels is not None:
            return tuple(tuple(s) for s in strides), tuple(tuple(k) for k in kernels)
        topo = unet_topology(self.patch_size, self.spacing, max_poolings=self.max_poolings)
        return topo.pool_strides, topo.conv_kernels

    @property
    def num_stages(self) -> int:
        """Resolution stages of the (U-Net-like) encoder."""
        return len(self._topology()[1])

    def receptive_field(self) -> list[float]:
        """Receptive field per axis in voxels of the encoder + decoder (global nets: the patch).

        Each stage runs two convolutions of its kernel at the stage's cumulative stride, on the way
        down and again on the way up; a chain of convolutions grows the field by ``(k - 1) * stride``.
        """
        if self.network in GLOBAL_CONTEXT:
            return [float(p) for p in self.patch_size]
        strides, kernels = self._topology()
        dims = len(self.patch_size)
        field = [1.0] * dims
        scale = [1.0] * dims
        for stage, kernel in enumerate(kernels):
            repeats = 2 if stage == len(kernels) - 1 else 4
            for a in range(dims):
                field[a] += repeats * (kernel[a] - 1) * scale[a]
            if stage < len(strides):
                scale = [scale[a] * strides[stage][a] for a in range(dims)]
        return field

    def cost(self) -> float:
        """A FLOP proxy: batch x sum over stages of voxels x features^2 x kernel volume."""
        strides, kernels = self._topology()
        size = np.asarray(self.patch_size, dtype=np.float64)
        total = 0.0
        for stage, kernel in enumerate(kernels):
            if stage > 0:
                size = size / np.asarray(strides[stage - 1])
            feats = min(self.features_base * 2**stage, 320 if self.spatial_dims == 3 else 512)
            total += float(size.prod()) * feats**2 * math.prod(kernel)
        return total * self.batch_size

    def label(self) -> str:
        """A short human-readable description."""
        slicing = " (2D slices of 3D data)" if self.slices else ""
        return (
            f"{self.network} features {self.features_base}, {self.num_stages} stages, patch {self.patch_size}, "
            f"batch {self.batch_size}{slicing}"
        )


def scaled_patches(
    base_patch: Sequence[int], entry: NetworkEntry, spacing: Sequence[float]
) -> list[list[int]]:
    """The memory-planned patch and smaller ones (``PATCH_VOLUME_FRACTIONS``), each valid for the network."""
    dims = len(base_patch)
    out: list[list[int]] = []
    for fraction in PATCH_VOLUME_FRACTIONS:
        scaled = [max(4, int(p * fraction ** (1.0 / dims))) for p in base_patch]
        patch = fit_patch(entry.name, scaled, spacing)
        if patch not in out:
            out.append(patch)
    return out


def enumerate_candidates(
    entry: NetworkEntry,
    base_patch: Sequence[int],
    spacing: Sequence[float],
    batch_sizes: Sequence[int],
    widths: Sequence[int] = FEATURES_BASE_CHOICES,
    slices: bool = False,
) -> list[Candidate]:
    """Width x patch x depth (adaptive nets: full and one pooling less) x batch size, without repeats."""
    out: list[Candidate] = []
    for patch in scaled_patches(base_patch, entry, spacing):
        depths: list[int | None] = [None]
        if entry.adaptive:
            full = len(unet_topology(patch, spacing).pool_strides)
            depths = sorted({full, max(1, full - 1)}, reverse=True)  # type: ignore[assignment]
        for pools in depths:
            for width in widths if entry.has_width else (0,):
                for batch in sorted(set(batch_sizes)):
                    cand = Candidate.build(entry, width, patch, batch, spacing, pools, slices)
                    if cand not in out:
                        out.append(cand)
    return out
