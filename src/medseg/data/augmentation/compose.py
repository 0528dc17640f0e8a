"""A sequence of transforms applied in order, sharing one random generator."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from typing_extensions import override

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.batch import Batch


class Compose(Transform):
    """Apply ``transforms`` in order; every random draw comes from the generator given at call time.

    With the same generator seed (and the same batch), the output is the same.
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    @override
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        """Run the transforms; once a tensor is a copy made here, random ones write into it in place."""
        caller = {key: _storage(batch[key]) for key in ("image", "label") if key in batch}
        for transform in self.transforms:
            if isinstance(transform, RandomTransform):
                owned = all(_storage(batch[key]) != pointer for key, pointer in caller.items())
                batch = transform.apply(batch, generator, inplace=owned)
            else:
                batch = transform.apply(batch, generator)
        return batch

    def __len__(self) -> int:
        """The number of transforms."""
        return len(self.transforms)

    @override
    def __repr__(self) -> str:
        inner = "".join(f"\n  {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


def _storage(tensor: torch.Tensor) -> int:
    """The address of the memory behind ``tensor`` (views share it)."""
    return tensor.untyped_storage().data_ptr()
