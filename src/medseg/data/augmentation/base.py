"""The two kinds of augmentation: a deterministic transform and a random one that draws its twin.

A :class:`Transform` applies fixed parameters to every sample of a batch. A
:class:`RandomTransform` draws, per sample, whether it applies (probability ``p``), draws parameters
for the chosen samples only and applies its deterministic twin to that subset of the batch; the
other samples are not touched (and cost nothing).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import Tensor

from medseg.data.augmentation.batch import Batch, BatchLike, draw_mask, from_batch, merge, select, to_batch


class Transform(ABC):
    """A deterministic batched transform; call it on a batch dict or an ``(image, label)`` tuple."""

    def __call__(self, data: BatchLike, generator: torch.Generator | None = None) -> BatchLike:
        """Apply the transform (``generator`` only feeds transforms that draw noise)."""
        batch, as_tuple = to_batch(data)
        return from_batch(self.apply(batch, generator), as_tuple)

    @abstractmethod
    def apply(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        """Return the transformed batch (a new dict; the input tensors are not modified)."""

    def __repr__(self) -> str:
        """The class name and its public settings."""
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class RandomTransform(Transform):
    """Applies a deterministic twin, with drawn parameters, to each sample with probability ``p``."""

    def __init__(self, p: float) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    def apply(self, batch: Batch, generator: torch.Generator | None = None, inplace: bool = False) -> Batch:
        """Draw which samples change, then transform only that subset.

        ``inplace`` lets the result be written into ``batch``'s tensors (for callers that own them,
        like :class:`Compose`); otherwise the inputs are never modified.
        """
        chosen = torch.nonzero(draw_mask(batch["image"].shape[0], self.p, generator)).flatten()
        return apply_to_subset(
            batch, chosen, lambda part: self.sample(part, generator).apply(part, generator), inplace
        )

    @abstractmethod
    def sample(self, batch: Batch, generator: torch.Generator | None) -> Transform:
        """The deterministic twin with parameters drawn for every sample of ``batch``."""


def apply_to_subset(
    batch: Batch, chosen: Tensor, transform: Callable[[Batch], Batch], inplace: bool
) -> Batch:
    """Run ``transform`` on the samples ``chosen`` (1-D indices) only and put them back into the batch."""
    if chosen.numel() == 0:
        return dict(batch)
    if chosen.numel() == batch["image"].shape[0]:
        return transform(batch)
    return merge(batch, chosen, transform(select(batch, chosen)), inplace)
