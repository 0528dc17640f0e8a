"""The batch that augmentations work on, and the helpers that select, merge and draw from it.

A batch is a dict with ``"image"`` (``(B, C, *spatial)`` float) and optionally ``"label"``
(``(B, 1, *spatial)`` integer); a ``(image, label)`` tuple is accepted and returned as a tuple. Any
other keys ride along untouched. Random draws come from a :class:`torch.Generator`: parameters are
drawn on the generator's device (CPU by default, so that a seed gives the same parameters on every
device) and then moved to the data's device.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import torch
from torch import Tensor

Batch: TypeAlias = dict[str, Tensor]
BatchLike: TypeAlias = Mapping[str, Tensor] | tuple[Tensor, Tensor | None]
Range: TypeAlias = tuple[float, float]


def to_batch(data: BatchLike) -> tuple[Batch, bool]:
    """Return ``data`` as a batch dict and whether it came as an ``(image, label)`` tuple."""
    if isinstance(data, tuple):
        image, label = data
        batch: Batch = {"image": image}
        if label is not None:
            batch["label"] = label
        return check_batch(batch), True
    return check_batch(dict(data)), False


def from_batch(batch: Batch, as_tuple: bool) -> BatchLike:
    """Return ``batch`` in the form the caller gave it (see :func:`to_batch`)."""
    if as_tuple:
        return batch["image"], batch.get("label")
    return batch


def check_batch(batch: Batch) -> Batch:
    """Check that the image is ``(B, C, *spatial)`` with 2 or 3 spatial axes and the label matches."""
    if "image" not in batch:
        raise ValueError("augmentation batch: missing key 'image'")
    image = batch["image"]
    if image.ndim not in (4, 5) or not image.is_floating_point():
        raise ValueError(
            f"augmentation batch: 'image' must be float (B, C, *spatial) 2D/3D, got {image.dtype} {tuple(image.shape)}"
        )
    label = batch.get("label")
    if label is not None and (label.shape[0] != image.shape[0] or label.shape[2:] != image.shape[2:]):
        raise ValueError(
            f"augmentation batch: 'label' {tuple(label.shape)} does not match 'image' {tuple(image.shape)}"
        )
    return batch


def select(batch: Batch, index: Tensor) -> Batch:
    """The samples ``index`` (1-D long tensor) of the image and label."""
    out = dict(batch)
    for key in ("image", "label"):
        if key in batch:
            out[key] = batch[key].index_select(0, index.to(batch[key].device))
    return out


def merge(batch: Batch, index: Tensor, part: Batch, inplace: bool = False) -> Batch:
    """``batch`` with samples ``index`` replaced by ``part``; ``inplace`` writes into ``batch``'s tensors."""
    out = dict(batch)
    for key in ("image", "label"):
        if key in batch:
            target, values, where = batch[key], part[key].to(batch[key].dtype), index.to(batch[key].device)
            out[key] = (
                target.index_copy_(0, where, values) if inplace else target.index_copy(0, where, values)
            )
    return out


def generator_device(generator: torch.Generator | None) -> torch.device:
    """The device random numbers are drawn on: the generator's, or the CPU."""
    return generator.device if generator is not None else torch.device("cpu")


def rand(shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    """Uniform [0, 1) numbers of ``shape`` drawn from ``generator``."""
    return torch.rand(shape, generator=generator, device=generator_device(generator))


def draw_mask(n: int, p: float, generator: torch.Generator | None) -> Tensor:
    """A boolean ``(n,)`` mask, each entry true with probability ``p`` (on the generator's device)."""
    return rand((n,), generator) < p


def channel_mask(shape: tuple[int, int], p_per_channel: float, generator: torch.Generator | None) -> Tensor:
    """A boolean ``(B, C)`` mask of the channels a per-channel transform touches."""
    return rand(shape, generator) < p_per_channel


def uniform(value_range: Range, shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    """Uniform numbers in ``[low, high)`` of ``shape``."""
    low, high = value_range
    return low + (high - low) * rand(shape, generator)


def uniform_around_one(
    value_range: Range, shape: tuple[int, ...], generator: torch.Generator | None
) -> Tensor:
    """nnU-Net's ``BGContrast`` draw: half the time from ``[low, 1)``, otherwise from ``[max(low, 1), high)``.

    This makes shrinking and growing factors equally likely even when the range is asymmetric
    around one (e.g. gamma in (0.7, 1.5)).
    """
    low, high = value_range
    below = uniform((low, min(high, 1.0)), shape, generator)
    above = uniform((max(low, 1.0), high), shape, generator)
    pick_below = (rand(shape, generator) < 0.5) & (low < 1.0)
    return torch.where(pick_below, below, above)


def per_sample_channel(value: float | Tensor, batch_size: int, channels: int, like: Tensor) -> Tensor:
    """``value`` (scalar, ``(B,)`` or ``(B, C)``) broadcast to ``(B, C, 1, ..., 1)`` on ``like``'s device."""
    tensor = torch.as_tensor(value, dtype=like.dtype).to(like.device)
    if tensor.ndim == 0:
        tensor = tensor.expand(batch_size, channels)
    elif tensor.ndim == 1:
        tensor = tensor[:, None].expand(batch_size, channels)
    if tuple(tensor.shape) != (batch_size, channels):
        raise ValueError(
            f"augmentation parameter: expected a scalar, (B,) or (B, C) = ({batch_size}, {channels}), got {tuple(tensor.shape)}"
        )
    return tensor.reshape(batch_size, channels, *([1] * (like.ndim - 2)))
