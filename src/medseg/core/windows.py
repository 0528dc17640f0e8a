"""Where the windows of a sliding-window pass start: the one rule of the torch and the lite predictor.

Positions follow MONAI's ``dense_patch_slices`` exactly: along each axis the step is
``int(patch * (1 - overlap))`` (at least 1; the whole axis when the patch fills it), windows
start at ``0, step, 2*step, ...`` until one reaches the border, and the last one is moved back so
it ends flush with the border. The windows form a Cartesian grid of these per-axis starts.
Pure Python, so :mod:`medseg.inference.windows` (torch) and :mod:`medseg.lite` (numpy) share it.
"""

from __future__ import annotations

from collections.abc import Sequence


def _axis_starts(size: int, patch: int, step: int) -> tuple[int, ...]:
    """Window starts along one axis of ``size`` voxels (``patch <= size``)."""
    starts: list[int] = []
    position = 0
    while True:
        starts.append(min(position, size - patch))
        if position + patch >= size:
            return tuple(starts)
        position += step


def scan_steps(
    image_size: Sequence[int], patch_size: Sequence[int], overlap: Sequence[float]
) -> tuple[int, ...]:
    """The step between window starts per axis: ``int(patch * (1 - overlap))``, at least 1."""
    steps = []
    for size, patch, fraction in zip(image_size, patch_size, overlap, strict=True):
        if patch == size:
            steps.append(patch)
        else:
            steps.append(max(int(patch * (1 - fraction)), 1))
    return tuple(steps)


def window_starts(
    image_size: Sequence[int], patch_size: Sequence[int], overlap: float | Sequence[float]
) -> tuple[tuple[int, ...], ...]:
    """Per-axis window starts over an image no smaller than the patch on any axis (one-line errors)."""
    size = tuple(int(s) for s in image_size)
    patch = tuple(int(p) for p in patch_size)
    fractions = (
        [float(overlap)] * len(size) if isinstance(overlap, int | float) else [float(o) for o in overlap]
    )
    if len(patch) != len(size) or len(fractions) != len(size):
        raise ValueError(
            f"patch_size {patch} and overlap {tuple(fractions)} need one value per axis of {size}"
        )
    if any(not 0.0 <= o < 1.0 for o in fractions):
        raise ValueError(f"overlap {tuple(fractions)} must be in [0, 1) on every axis")
    if any(p < 1 or p > s for p, s in zip(patch, size, strict=True)):
        raise ValueError(f"patch_size {patch} must be between 1 and the image size {size} on every axis")
    steps = scan_steps(size, patch, fractions)
    return tuple(_axis_starts(s, p, st) for s, p, st in zip(size, patch, steps, strict=True))
