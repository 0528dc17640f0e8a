"""Differentiable (soft) Dice on probabilities, for losses and quick training-time monitoring."""

from __future__ import annotations

import torch


def soft_dice(
    probs: torch.Tensor, target: torch.Tensor, smooth: float = 1e-5, batch_dice: bool = False
) -> torch.Tensor:
    """``(2 sum(p t) + smooth) / (sum p + sum t + smooth)`` over space.

    ``probs`` and ``target`` are ``(B, C, *spatial)`` (target one-hot or soft). Returns ``(B, C)``,
    or ``(C,)`` with ``batch_dice=True`` (sums over the batch too, as nnU-Net). Gradients flow to
    ``probs``; two empty channels give 1 thanks to ``smooth``.
    """
    if probs.shape != target.shape:
        raise ValueError(f"probs shape {tuple(probs.shape)} != target shape {tuple(target.shape)}")
    if probs.ndim < 3:
        raise ValueError(f"expected (B, C, *spatial), got shape {tuple(probs.shape)}")
    target = target.to(probs.dtype)
    dims = (0, *range(2, probs.ndim)) if batch_dice else tuple(range(2, probs.ndim))
    intersection = (probs * target).sum(dims)
    denominator = probs.sum(dims) + target.sum(dims)
    return (2 * intersection + smooth) / (denominator + smooth)
