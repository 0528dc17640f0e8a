"""The dynamic U-Net topology rule, computed in ``data`` because data cannot import nets.

It follows, step for step, the rule documented in :mod:`medseg.nets.topology` (a test checks that
both give identical strides and kernels). Axes are in array order; ``size``/``spacing`` are the
current feature-map size and spacing per axis:

1. While fewer than ``max_pools`` poolings were made (5 in 3D, 6 in 2D): the candidate axes have
   ``size >= 8`` (a pooled axis keeps >= 4 voxels); of those, pool the ones whose spacing is below
   twice the finest candidate spacing; a lone axis must also have ``size >= 12``; none: stop.
2. A stage's conv kernel is 3 on every axis whose spacing is below twice the finest spacing of all
   axes, else 1 (no mixing across thick slices until pooling made the grid roughly isotropic);
   once 3 it stays 3. The bottleneck stage has kernel 3 on every axis.
3. Pooled axes halve their size (rounding up) and double their spacing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_FEATURE_MAP = 4
DEFAULT_MAX_POOLS = {2: 6, 3: 5}
ANISOTROPY_FACTOR = 2.0


@dataclass(frozen=True)
class Topology:
    """Per-stage kernels and strides of a U-Net; ``pool_strides[i]`` leads from stage ``i`` to ``i+1``."""

    conv_kernels: list[list[int]]
    pool_strides: list[list[int]]

    @property
    def num_stages(self) -> int:
        """Number of resolution stages (pools + 1)."""
        return len(self.conv_kernels)

    @property
    def divisors(self) -> list[int]:
        """Per axis, the product of the strides: the patch must be divisible by it."""
        dims = len(self.conv_kernels[0])
        out = [1] * dims
        for stride in self.pool_strides:
            out = [o * s for o, s in zip(out, stride)]
        return out


def unet_topology(
    patch_size: Sequence[int], spacing: Sequence[float], max_pools: int | None = None
) -> Topology:
    """The kernels and strides the rule of the module docstring gives for this patch and spacing."""
    dims = len(patch_size)
    if dims != len(spacing):
        raise ValueError(f"patch_size {list(patch_size)} and spacing {list(spacing)} differ in length")
    limit = DEFAULT_MAX_POOLS[dims] if max_pools is None else max_pools
    size = [int(p) for p in patch_size]
    current = [float(s) for s in spacing]
    kernel = [1] * dims
    kernels: list[list[int]] = []
    strides: list[list[int]] = []
    while len(strides) < limit:
        candidates = [a for a in range(dims) if size[a] >= 2 * MIN_FEATURE_MAP]
        if not candidates:
            break
        finest = min(current[a] for a in candidates)
        axes = [a for a in candidates if current[a] / finest < ANISOTROPY_FACTOR]
        if len(axes) == 1 and size[axes[0]] < 3 * MIN_FEATURE_MAP:
            break
        overall = min(current)
        kernel = [3 if current[a] / overall < ANISOTROPY_FACTOR else k for a, k in enumerate(kernel)]
        kernels.append(list(kernel))
        strides.append([2 if a in axes else 1 for a in range(dims)])
        for a in axes:
            current[a] *= 2
            size[a] = math.ceil(size[a] / 2)
    kernels.append([3] * dims)
    return Topology(conv_kernels=kernels, pool_strides=strides)


def pooling_divisors(
    patch_size: Sequence[int], spacing: Sequence[float], max_pools: int | None = None
) -> list[int]:
    """Per axis, what the patch size must be divisible by for the U-Net of :func:`unet_topology`."""
    return unet_topology(patch_size, spacing, max_pools).divisors


def make_divisible(
    patch_size: Sequence[int],
    spacing: Sequence[float],
    max_pools: int | None = None,
    round_up: bool = False,
) -> list[int]:
    """The patch rounded per axis to a multiple of its pooling divisor (down unless ``round_up``).

    Rounding changes the topology only towards fewer pools, whose divisors divide the old ones, so
    the loop converges in a few rounds.
    """
    patch = [int(p) for p in patch_size]
    for _ in range(16):
        div = pooling_divisors(patch, spacing, max_pools)
        if round_up:
            new = [-(-p // d) * d for p, d in zip(patch, div)]
        else:
            new = [max(d, (p // d) * d) for p, d in zip(patch, div)]
        if new == patch:
            return patch
        patch = new
    return patch
