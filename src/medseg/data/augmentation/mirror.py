"""Mirroring along spatial axes (nnU-Net: every spatial axis flipped with probability 0.5 per sample)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform, apply_to_subset
from medseg.data.augmentation.batch import Batch, rand


class Mirror(Transform):
    """Flip image and label along ``axes`` (spatial axes: 0 is the first axis after the channel)."""

    def __init__(self, axes: Sequence[int]) -> None:
        self.axes = tuple(axes)

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        if not self.axes:
            return dict(batch)
        dims = [axis + 2 for axis in self.axes]
        out = dict(batch)
        for key in ("image", "label"):
            if key in batch:
                out[key] = torch.flip(batch[key], dims)
        return out


class RandomMirror(RandomTransform):
    """Flip each axis of ``axes`` (default: all spatial axes) independently with ``p_per_axis`` per sample.

    nnU-Net v2 default: all axes of the patch, ``p_per_axis=0.5``. Samples that share a flip
    combination are flipped together.
    """

    def __init__(self, axes: Sequence[int] | None = None, p_per_axis: float = 0.5) -> None:
        super().__init__(1.0)
        self.axes = None if axes is None else tuple(axes)
        self.p_per_axis = p_per_axis

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None, inplace: bool = False) -> Batch:
        axes = self.axes if self.axes is not None else tuple(range(batch["image"].ndim - 2))
        flips = (rand((batch["image"].shape[0], len(axes)), generator) < self.p_per_axis).cpu()
        out = dict(batch)
        for combo in torch.unique(flips, dim=0):
            if not combo.any():
                continue
            index = torch.nonzero((flips == combo).all(dim=1)).flatten()
            chosen_axes = [axis for axis, flip in zip(axes, combo.tolist()) if flip]
            flipped = Mirror(chosen_axes).apply
            out = apply_to_subset(out, index, flipped, inplace or out["image"] is not batch["image"])
        return out

    @override
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        axes = self.axes if self.axes is not None else tuple(range(batch["image"].ndim - 2))
        flips = rand((len(axes),), generator) < self.p_per_axis
        return Mirror([axis for axis, flip in zip(axes, flips.tolist()) if flip])
