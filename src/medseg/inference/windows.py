"""Where the windows of a sliding-window pass sit, and how much total weight each voxel gets.

Positions follow MONAI's ``dense_patch_slices`` exactly: along each axis the step is
``int(patch * (1 - overlap))`` (at least 1; the whole axis when the patch fills it), windows
start at ``0, step, 2*step, ...`` until one reaches the border, and the last one is moved back so
it ends flush with the border. The windows form a Cartesian grid of per-axis starts, which lets
:meth:`WindowGrid.weight_sum` add the blending weights of all windows axis by axis instead of
window by window.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch


def _axis_starts(size: int, patch: int, step: int) -> tuple[int, ...]:
    """Window starts along one axis of ``size`` voxels (``patch <= size``)."""
    starts: list[int] = []
    position = 0
    while True:
        starts.append(min(position, size - patch))
        if position + patch >= size:
            return tuple(starts)
        position += step


def scan_steps(image_size: Sequence[int], patch_size: Sequence[int], overlap: Sequence[float]) -> tuple[int, ...]:
    """The step between window starts per axis: ``int(patch * (1 - overlap))``, at least 1."""
    steps = []
    for size, patch, fraction in zip(image_size, patch_size, overlap, strict=True):
        if patch == size:
            steps.append(patch)
        else:
            steps.append(max(int(patch * (1 - fraction)), 1))
    return tuple(steps)


@dataclass(frozen=True)
class WindowGrid:
    """The windows of one sliding-window pass over an image of ``image_size`` (already padded)."""

    image_size: tuple[int, ...]
    patch_size: tuple[int, ...]
    starts: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        """Number of windows."""
        count = 1
        for axis_starts in self.starts:
            count *= len(axis_starts)
        return count

    def slices(self) -> list[tuple[slice, ...]]:
        """Spatial slices of every window, last axis fastest (MONAI's order)."""
        return [
            tuple(slice(s, s + p) for s, p in zip(corner, self.patch_size, strict=True))
            for corner in itertools.product(*self.starts)
        ]

    def weight_sum(self, weights: torch.Tensor) -> torch.Tensor:
        """The sum of ``weights`` (shape ``patch_size``) placed at every window, shape ``image_size``.

        Adds along one axis at a time: ``sum_a len(starts[a]) * partial volume`` additions instead
        of ``len(self) * patch volume``.
        """
        total = weights
        for axis in reversed(range(len(self.image_size))):
            shape = list(total.shape)
            shape[axis] = self.image_size[axis]
            spread = torch.zeros(shape, dtype=weights.dtype, device=weights.device)
            for start in self.starts[axis]:
                spread.narrow(axis, start, self.patch_size[axis]).add_(total)
            total = spread
        return total


def window_grid(
    image_size: Sequence[int], patch_size: Sequence[int], overlap: float | Sequence[float]
) -> WindowGrid:
    """The window grid of an image no smaller than the patch on any axis."""
    size = tuple(int(s) for s in image_size)
    patch = tuple(int(p) for p in patch_size)
    fractions = [float(overlap)] * len(size) if isinstance(overlap, int | float) else [float(o) for o in overlap]
    if len(patch) != len(size) or len(fractions) != len(size):
        raise ValueError(f"patch_size {patch} and overlap {tuple(fractions)} need one value per axis of {size}")
    if any(not 0.0 <= o < 1.0 for o in fractions):
        raise ValueError(f"overlap {tuple(fractions)} must be in [0, 1) on every axis")
    if any(p < 1 or p > s for p, s in zip(patch, size, strict=True)):
        raise ValueError(f"patch_size {patch} must be between 1 and the image size {size} on every axis")
    steps = scan_steps(size, patch, fractions)
    starts = tuple(_axis_starts(s, p, st) for s, p, st in zip(size, patch, steps, strict=True))
    return WindowGrid(size, patch, starts)
