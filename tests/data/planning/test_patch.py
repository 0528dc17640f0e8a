"""Patch and batch size from a memory budget (medseg.data.planning.patch)."""

from __future__ import annotations

import math

import pytest

from medseg.core.topology import unet_topology
from medseg.data.planning.patch import (
    MIN_BATCH,
    MIST_MIN_LOW_RES,
    activation_bytes,
    batch_size_for,
    mist_patch_size,
    nnunet_patch_size,
)

ISO = [1.0, 1.0, 1.0]
ANISO = [5.0, 0.8, 0.8]


def _divisible(patch: list[int], spacing: list[float]) -> bool:
    divisor = unet_topology(patch, spacing).patch_size_divisor
    return all(p % d == 0 for p, d in zip(patch, divisor, strict=True))


def test_memory_model_gives_the_documented_5_4_gb_for_nnunets_default_patch() -> None:
    # The module docstring's anchor: 32 base features, 128^3, batch 2, 2-byte values ~ 5.4 GB.
    total = 2 * activation_bytes([128, 128, 128], ISO, 32, 2)
    assert 5.2e9 < total < 5.6e9


def test_memory_model_is_linear_in_bytes_and_grows_with_width_and_patch() -> None:
    base = activation_bytes([64, 64, 64], ISO, 16, 2)
    assert activation_bytes([64, 64, 64], ISO, 16, 4) == 2 * base
    assert activation_bytes([64, 64, 64], ISO, 32, 2) > 1.9 * base
    assert activation_bytes([128, 64, 64], ISO, 16, 2) > 1.9 * base


def test_nnunet_rule_keeps_the_median_image_when_memory_is_plentiful() -> None:
    median = [100, 120, 90]
    patch = nnunet_patch_size(median, ISO, 64e9, 32, 2)
    assert _divisible(patch, ISO)
    divisor = unet_topology(patch, ISO).patch_size_divisor
    for p, m, d in zip(patch, median, divisor, strict=True):
        assert m <= p < m + d  # rounded up to the divisor, less than one divisor beyond the image


@pytest.mark.parametrize("memory", [0.5e9, 1e9, 2e9, 4e9])
def test_nnunet_rule_fits_the_budget_and_shrinks_monotonically(memory: float) -> None:
    median = [160, 200, 160]
    patch = nnunet_patch_size(median, ISO, memory, 32, 2)
    assert _divisible(patch, ISO)
    assert 2 * activation_bytes(patch, ISO, 32, 2) <= memory
    larger = nnunet_patch_size(median, ISO, 2 * memory, 32, 2)
    assert math.prod(larger) >= math.prod(patch)


def test_nnunet_rule_on_anisotropic_data_keeps_the_patch_isotropic_in_millimetres() -> None:
    patch = nnunet_patch_size([40, 300, 300], ANISO, 2e9, 32, 2)
    extent_mm = [p * s for p, s in zip(patch, ANISO, strict=True)]
    assert patch[0] < patch[1] == patch[2]  # fewer voxels along the coarse axis
    assert max(extent_mm) / min(extent_mm) < 1.6


def test_mist_rule_fills_its_voxel_budget_exactly_at_the_reference_memory() -> None:
    # 16 GB and batch 2 is MIST's reference: a 128^3 voxel budget (a float cube root must not round it
    # down to the next divisor).
    assert mist_patch_size([300, 300, 300], ISO, 16.0) == [128, 128, 128]
    half = mist_patch_size([300, 300, 300], ISO, 8.0)
    assert math.prod(half) <= 128**3 // 2
    assert _divisible(half, ISO)


def test_mist_rule_gives_a_clipped_axis_budget_to_the_others() -> None:
    patch = mist_patch_size([60, 300, 300], ISO, 16.0)
    assert patch[0] <= 60
    assert patch[1] == patch[2] > 128  # the in-plane axes take the share the short axis cannot


def test_mist_rule_on_anisotropic_data_is_thin_along_the_coarse_axis() -> None:
    patch = mist_patch_size([40, 300, 300], ANISO, 16.0)
    assert patch[0] >= MIST_MIN_LOW_RES
    assert patch[0] < patch[1] == patch[2] <= 300
    assert _divisible(patch, ANISO)


def test_batch_size_is_bounded_by_memory_by_data_and_from_below() -> None:
    patch = [64, 64, 64]
    per_sample = activation_bytes(patch, ISO, 32, 4)
    assert batch_size_for(patch, ISO, 5 * per_sample + 1, 32, 4, 1e12) == 5
    # 5 % of a dataset of 100 patch-sized volumes is 5 patches per step, whatever the memory
    assert batch_size_for(patch, ISO, 50 * per_sample, 32, 4, 100 * math.prod(patch)) == 5
    assert batch_size_for(patch, ISO, per_sample / 10, 32, 4, 1e12) == MIN_BATCH
