"""U-Net topology from patch size and voxel spacing (the rule of nnU-Net, in our own code).

This is the rule's one home: :mod:`medseg.nets` builds U-Nets from it and the planner sizes
patches and candidates with it. Axes are in array order; ``size`` and ``spacing`` are the current feature-map size and spacing of each axis.

1. Repeat while at most ``max_poolings`` poolings have been made:
   a. candidate axes: ``size >= 2 * min_feature_map`` (so that a pooled axis keeps at least
      ``min_feature_map`` voxels, 4 by default);
   b. of those, keep the axes whose spacing is below twice the finest spacing among the
      candidates (a coarse axis waits until the others have caught up);
   c. if exactly one axis is left it must also have ``size >= 3 * min_feature_map``; if none
      is left, stop;
   d. the stage's conv kernel is 3 on every axis whose spacing is below twice the finest
      spacing of all axes, else 1 (e.g. ``(1, 3, 3)`` for 3 x 0.8 x 0.8 mm); once 3, it stays 3;
   e. pool the kept axes by 2 (spacing doubles, size halves rounding up), the others by 1.
2. The bottleneck stage gets kernel 3 on every axis.
3. Features: ``features_base * 2**stage`` capped at ``max_features`` (320 in 3D, 512 in 2D);
   constant ``features_base`` for the "pocket" variant.
4. The patch size must be divisible, per axis, by the product of that axis' pool strides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_MAX_POOLINGS = {2: 6, 3: 5}
DEFAULT_MAX_FEATURES = {2: 512, 3: 320}


@dataclass(frozen=True)
class Topology:
    """Pool strides (one per pooling), conv kernels and features (one per stage), divisor per axis."""

    pool_strides: tuple[tuple[int, ...], ...]
    conv_kernels: tuple[tuple[int, ...], ...]
    features: tuple[int, ...]
    patch_size_divisor: tuple[int, ...]

    @property
    def num_stages(self) -> int:
        """Number of resolution levels (poolings + 1)."""
        return len(self.conv_kernels)


def stage_features(
    num_stages: int,
    spatial_dims: int,
    features_base: int = 32,
    max_features: int | None = None,
    pocket: bool = False,
) -> tuple[int, ...]:
    """``features_base * 2**i`` capped at ``max_features`` (constant ``features_base`` when pocket)."""
    if features_base < 1:
        raise ValueError(f"features_base must be >= 1, got {features_base}")
    cap = max_features if max_features is not None else DEFAULT_MAX_FEATURES[spatial_dims]
    if pocket:
        return (features_base,) * num_stages
    return tuple(min(features_base * 2**i, cap) for i in range(num_stages))


def divisor_from_strides(pool_strides: Sequence[Sequence[int]], spatial_dims: int) -> tuple[int, ...]:
    """Per axis, the product of that axis' pool strides."""
    return tuple(math.prod(s[axis] for s in pool_strides) for axis in range(spatial_dims))


def unet_topology(
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 32,
    max_features: int | None = None,
    max_poolings: int | None = None,
    min_feature_map: int = 4,
    pocket: bool = False,
) -> Topology:
    """The dynamic U-Net topology for ``patch_size`` at ``spacing`` (array axis order, mm)."""
    dims = len(patch_size)
    if dims not in (2, 3):
        raise ValueError(f"patch_size must have 2 or 3 axes, got {list(patch_size)}")
    if any(int(s) < 1 for s in patch_size):
        raise ValueError(f"patch_size must be positive, got {list(patch_size)}")
    current_spacing = [1.0] * dims if spacing is None else [float(s) for s in spacing]
    if len(current_spacing) != dims or any(s <= 0 for s in current_spacing):
        raise ValueError(f"spacing must be {dims} positive values, got {spacing}")
    limit = max_poolings if max_poolings is not None else DEFAULT_MAX_POOLINGS[dims]
    size = [int(s) for s in patch_size]
    kernel = [1] * dims
    strides: list[tuple[int, ...]] = []
    kernels: list[tuple[int, ...]] = []
    while len(strides) < limit:
        candidates = [a for a in range(dims) if size[a] >= 2 * min_feature_map]
        if not candidates:
            break
        finest = min(current_spacing[a] for a in candidates)
        axes = [a for a in candidates if current_spacing[a] / finest < 2]
        if len(axes) == 1 and size[axes[0]] < 3 * min_feature_map:
            break
        overall_finest = min(current_spacing)
        for a in range(dims):
            if current_spacing[a] / overall_finest < 2:
                kernel[a] = 3
        kernels.append(tuple(kernel))
        strides.append(tuple(2 if a in axes else 1 for a in range(dims)))
        for a in axes:
            current_spacing[a] *= 2
            size[a] = math.ceil(size[a] / 2)
    kernels.append((3,) * dims)
    return Topology(
        pool_strides=tuple(strides),
        conv_kernels=tuple(kernels),
        features=stage_features(len(kernels), dims, features_base, max_features, pocket),
        patch_size_divisor=divisor_from_strides(strides, dims),
    )


def pooling_divisors(
    patch_size: Sequence[int], spacing: Sequence[float] | None = None, max_poolings: int | None = None
) -> tuple[int, ...]:
    """Per axis, what the patch size must be divisible by for the U-Net of :func:`unet_topology`."""
    return unet_topology(patch_size, spacing, max_poolings=max_poolings).patch_size_divisor


def make_divisible(
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    max_poolings: int | None = None,
    round_up: bool = False,
) -> list[int]:
    """The patch rounded per axis to a multiple of its pooling divisor (down unless ``round_up``).

    Rounding changes the topology only towards fewer pools, whose divisors divide the old ones, so
    the loop converges in a few rounds.
    """
    patch = [int(p) for p in patch_size]
    for _ in range(16):
        div = pooling_divisors(patch, spacing, max_poolings)
        if round_up:
            new = [-(-p // d) * d for p, d in zip(patch, div)]
        else:
            new = [max(d, (p // d) * d) for p, d in zip(patch, div)]
        if new == patch:
            return patch
        patch = new
    return patch
