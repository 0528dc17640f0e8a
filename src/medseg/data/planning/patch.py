"""Patch and batch size from a memory budget: nnU-Net's shrink rule and MIST's voxel-budget rule.

Memory model (for both): a U-Net keeps about ``STORED_MAPS_PER_STAGE`` feature maps per resolution
stage for the backward pass (encoder: two convs, each conv + norm + activation output; decoder:
upsampled map, concatenation and two more convs), each of ``voxels x features`` values of
``bytes_per_value`` bytes (2 with mixed precision on CUDA, 4 on CPU). With 32 base features, a
128^3 patch and batch 2 this gives ~5.4 GB plus ~1 GB of CUDA context: the ~8 GB nnU-Net targets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from medseg.core.topology import DEFAULT_MAX_FEATURES, make_divisible, stage_features, unet_topology

STORED_MAPS_PER_STAGE = 15
MAX_FEATURES = DEFAULT_MAX_FEATURES
START_VOXELS = {2: 2048**2, 3: 256**3}
MIST_REFERENCE_GB = 16.0
MIST_REFERENCE_VOXELS = 128**3
MIST_MIN_LOW_RES = 5
MAX_DATASET_FRACTION_PER_STEP = 0.05
MIN_BATCH = 2
MIN_PATCH_AXIS = 4


def activation_bytes(
    patch_size: Sequence[int],
    spacing: Sequence[float],
    features_base: int,
    bytes_per_value: int,
    max_pools: int | None = None,
) -> int:
    """Estimated training memory of ONE sample of this patch (see the module docstring)."""
    topology = unet_topology(patch_size, spacing, max_poolings=max_pools)
    size = np.asarray(patch_size, dtype=np.float64)
    feats = stage_features(topology.num_stages, len(patch_size), features_base)
    values = float(size.prod()) * feats[0]
    for stride, f in zip(topology.pool_strides, feats[1:]):
        size = size / np.asarray(stride)
        values += float(size.prod()) * f
    return int(values * STORED_MAPS_PER_STAGE * bytes_per_value)


def nnunet_patch_size(
    median_shape: Sequence[float],
    spacing: Sequence[float],
    memory_bytes: float,
    features_base: int,
    bytes_per_value: int,
    batch_size: int = MIN_BATCH,
    max_pools: int | None = None,
) -> list[int]:
    """nnU-Net's rule: start from an isotropic (in mm) patch clipped to the median shape, then shrink.

    While ``batch_size`` samples do not fit in ``memory_bytes``, the axis whose patch is the largest
    fraction of the median shape loses one pooling divisor. The result is rounded up to the divisors
    (it may exceed the median image by less than one divisor; the sampler pads).
    """
    dims = len(spacing)
    median = np.maximum(np.asarray(median_shape, dtype=np.float64), 1.0)
    inverse = 1.0 / np.asarray(spacing, dtype=np.float64)
    scale = (START_VOXELS[dims] / float(inverse.prod())) ** (1.0 / dims)
    patch = [round(float(v)) for v in np.minimum(inverse * scale, median)]
    while True:
        candidate = make_divisible(patch, spacing, max_pools, round_up=True)
        cost = activation_bytes(candidate, spacing, features_base, bytes_per_value, max_pools) * batch_size
        shrinkable = np.asarray(patch) > MIN_PATCH_AXIS
        if cost <= memory_bytes or not shrinkable.any():
            return candidate
        divisors = unet_topology(candidate, spacing, max_poolings=max_pools).patch_size_divisor
        ratios = np.where(shrinkable, np.asarray(patch, dtype=np.float64) / median, -np.inf)
        axis = int(np.argmax(ratios))
        patch[axis] = max(MIN_PATCH_AXIS, patch[axis] - divisors[axis])


def mist_patch_size(
    median_shape: Sequence[float],
    spacing: Sequence[float],
    memory_gb: float,
    batch_size: int = MIN_BATCH,
    max_pools: int | None = None,
) -> list[int]:
    """MIST's rule: a voxel budget of ``(memory/16 GB) * 128^3 * (2/batch)`` filled by the patch.

    Isotropic data (max/min spacing <= 3) get the largest patch of equal physical extent per axis,
    axes clipped to the median shape give their share to the others. Anisotropic data get a thin
    patch along the coarsest axis (at least 5 slices) and a square in-plane patch. Axes are then
    rounded down to the U-Net's pooling divisors (MIST uses 32 for its fixed 5-pool encoder).
    """
    dims = len(spacing)
    sp = np.asarray(spacing, dtype=np.float64)
    median = np.maximum(np.asarray(median_shape, dtype=np.float64), 1.0)
    budget = memory_gb / MIST_REFERENCE_GB * MIST_REFERENCE_VOXELS * (MIN_BATCH / batch_size)
    if sp.max() / sp.min() <= 3.0:
        patch = np.zeros(dims)
        free = list(range(dims))
        remaining = budget
        while free:
            extent_mm = (remaining * float(sp[free].prod())) ** (1.0 / len(free))
            raw = extent_mm / sp[free]
            clipped = [a for a, r in zip(free, raw) if r > median[a]]
            if not clipped:
                patch[free] = raw
                break
            for axis in clipped:
                patch[axis] = median[axis]
                remaining /= median[axis]
                free.remove(axis)
    else:
        low = int(np.argmax(sp))
        in_plane = [a for a in range(dims) if a != low]
        low_size = min(max(budget / float(median[in_plane].max()) ** 2, MIST_MIN_LOW_RES), median[low])
        patch = np.full(dims, math.sqrt(budget / low_size))
        patch[low] = low_size
        patch[in_plane] = np.minimum(patch[in_plane], median[in_plane])
    # floor with a tolerance: 128**3 ** (1/3) is 127.99999999999997 in floating point, not 128
    return make_divisible([max(1, math.floor(v + 1e-6)) for v in patch], spacing, max_pools)


def batch_size_for(
    patch_size: Sequence[int],
    spacing: Sequence[float],
    memory_bytes: float,
    features_base: int,
    bytes_per_value: int,
    dataset_voxels: float,
    max_pools: int | None = None,
) -> int:
    """As many samples as fit in memory, but at most 5% of the dataset's voxels per step, and >= 2."""
    per_sample = activation_bytes(patch_size, spacing, features_base, bytes_per_value, max_pools)
    by_memory = int(memory_bytes // max(per_sample, 1))
    by_data = int(MAX_DATASET_FRACTION_PER_STEP * dataset_voxels // max(math.prod(patch_size), 1))
    return max(MIN_BATCH, min(by_memory, by_data))
