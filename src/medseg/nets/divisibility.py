"""Patch-size divisibility: the check every network runs at build time, with a helpful message."""

from __future__ import annotations

from collections.abc import Sequence


def nearest_valid_sizes(size: int, divisor: int) -> tuple[int, int]:
    """The nearest multiples of ``divisor`` below-or-equal and above-or-equal ``size`` (lower >= divisor)."""
    lower = max(divisor, (size // divisor) * divisor)
    upper = -(-size // divisor) * divisor
    return lower, max(upper, divisor)


def check_patch_size(name: str, patch_size: Sequence[int], divisor: Sequence[int]) -> None:
    """Raise ValueError naming the first axis whose size is not a multiple of its divisor."""
    if len(patch_size) != len(divisor):
        raise ValueError(
            f"{name}: patch_size {list(patch_size)} has {len(patch_size)} axes, expected {len(divisor)}"
        )
    for axis, (size, div) in enumerate(zip(patch_size, divisor)):
        if size < 1 or size % div != 0:
            lower, upper = nearest_valid_sizes(max(size, 1), div)
            raise ValueError(
                f"{name}: patch_size axis {axis} = {size} is not divisible by {div}; "
                f"nearest valid sizes: {lower} (lower) or {upper} (upper)"
            )


def check_bottleneck(name: str, patch_size: Sequence[int], divisor: int) -> None:
    """Raise ValueError when the bottleneck would be one voxel (instance/group norm cannot normalise it)."""
    if all(size // divisor <= 1 for size in patch_size):
        raise ValueError(
            f"{name}: patch_size {list(patch_size)} gives a 1-voxel bottleneck (every axis / {divisor} = 1), "
            f"which its normalisation rejects; make at least one axis {2 * divisor} or larger"
        )
