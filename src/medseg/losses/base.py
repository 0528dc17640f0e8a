"""What every medseg loss shares: the call convention, probabilities and binary targets, components.

The call convention is ``loss(logits, target)`` with logits ``(B, C, *spatial)`` (2D or 3D) and

* ``activation="softmax"``: target ``(B, 1, *spatial)`` integer class indices ``0..C-1``;
* ``activation="sigmoid"``: target ``(B, C, *spatial)``, one binary channel per output (a binary task
  with one output, or overlapping regions). An integer target is binarised with ``> 0``; a float
  target is used as it is (so it must hold 0 and 1).

After each call ``last_components`` maps each term's name to its value (floats, for the plots).
Every loss computes in float32 whatever the logits' dtype (safe under mixed precision).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from medseg.core.errors import ConfigError

Activation = Literal["softmax", "sigmoid"]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)


def one_hot(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(B, 1, *spatial)`` integer labels -> ``(B, num_classes, *spatial)`` float one-hot."""
    labels = target[:, 0].long()
    return F.one_hot(labels, num_classes).movedim(-1, 1).to(torch.float32)


def check_activation(out_channels: int, activation: str) -> None:
    """ValueError unless ``activation`` is known and fits ``out_channels`` (softmax needs >= 2)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if out_channels < 1:
        raise ValueError(f"out_channels must be >= 1, got {out_channels}")
    if activation == "softmax" and out_channels < 2:
        raise ValueError("softmax needs at least 2 output channels (use sigmoid for one)")


def check_number(
    key: str, value: object, low: float | None = None, high: float | None = None, integer: bool = False
) -> float:
    """``value`` as a float if it is a number in ``[low, high]`` (whole if ``integer``), else ConfigError.

    ``key`` is the parameter's name; the message names it as ``training.loss_params.<key>``.
    """
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is not None and integer and number != int(number):
        number = None
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        kind = "an integer" if integer else "a number"
        bounds = [f">= {low}"] if low is not None else []
        bounds += [f"<= {high}"] if high is not None else []
        where = f" {' and '.join(bounds)}" if bounds else ""
        raise ConfigError(f"training.loss_params.{key}: must be {kind}{where}, got {value!r}")
    return number


class SegmentationLoss(nn.Module):
    """Base class: activation, channel checks, probabilities, binary targets and ``last_components``.

    ``include_background`` decides whether channel 0 of a softmax output enters the overlap (Dice-like)
    terms; it has no effect with sigmoid, where every channel is a foreground region.
    """

    def __init__(self, out_channels: int, activation: Activation, include_background: bool = False) -> None:
        super().__init__()
        check_activation(out_channels, activation)
        self.out_channels = out_channels
        self.activation: Activation = activation
        self.include_background = bool(include_background)
        self.last_components: dict[str, float] = {}

    @property
    def softmax(self) -> bool:
        """True for a softmax (mutually exclusive classes) output."""
        return self.activation == "softmax"

    def check_shapes(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """ValueError when logits and target do not follow the call convention."""
        if logits.ndim not in (4, 5):
            raise ValueError(
                f"logits must be (B, C, *spatial) with 2 or 3 spatial axes, got {tuple(logits.shape)}"
            )
        if logits.shape[1] != self.out_channels:
            raise ValueError(f"logits have {logits.shape[1]} channels, the loss expects {self.out_channels}")
        channels = 1 if self.softmax else self.out_channels
        expected = (logits.shape[0], channels, *logits.shape[2:])
        if tuple(target.shape) != expected:
            raise ValueError(
                f"{self.activation} target must have shape {expected}, got {tuple(target.shape)}"
            )

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over channels or a sigmoid per channel, in float32."""
        logits = logits.float()
        return torch.softmax(logits, 1) if self.softmax else torch.sigmoid(logits)

    def binary_target(self, target: torch.Tensor) -> torch.Tensor:
        """The target as a float ``(B, C, *spatial)`` tensor: one-hot (softmax) or the regions (sigmoid)."""
        if self.softmax:
            return one_hot(target, self.out_channels)
        if target.dtype.is_floating_point:
            return target.float()
        return (target > 0).float()

    def overlap_channels(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` without the softmax background channel unless ``include_background``."""
        return x[:, 1:] if self.softmax and not self.include_background else x

    def foreground(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` without the softmax background channel (distance-map terms never use it)."""
        return x[:, 1:] if self.softmax else x

    def report(self, components: Mapping[str, torch.Tensor | float]) -> None:
        """Store the detached value of each term in ``last_components``."""
        self.last_components = {
            k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in components.items()
        }
