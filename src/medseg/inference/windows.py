"""Where the windows of a sliding-window pass sit, and how much total weight each voxel gets.

Positions follow MONAI's ``dense_patch_slices`` exactly (the rule lives in
:mod:`medseg.core.windows`, shared with the torch-free :mod:`medseg.lite`). The windows form a
Cartesian grid of per-axis starts, which lets
:meth:`WindowGrid.weight_sum` add the blending weights of all windows axis by axis instead of
window by window.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from medseg.core.windows import scan_steps, window_starts

__all__ = ["WindowGrid", "scan_steps", "window_grid"]


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
    starts = window_starts(image_size, patch_size, overlap)
    return WindowGrid(tuple(int(s) for s in image_size), tuple(int(p) for p in patch_size), starts)
