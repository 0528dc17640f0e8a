"""Mirror test-time augmentation: average the predictions of flipped copies of the input.

Each subset of the chosen spatial axes gives one flipped copy; its prediction is turned into
probabilities, flipped back and averaged. With ``k`` axes that is ``2**k`` predictions (nnU-Net's
default uses all of them); ``subsets`` picks fewer when time matters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from medseg.core.mirror import mirror_axes_for, mirror_subsets
from medseg.inference.activation import check_activation, to_probabilities
from medseg.inference.sliding_window import first_output


def _check_axes(subsets: Sequence[Sequence[int]], ndim: int) -> None:
    """Every axis must be a spatial axis index in ``[0, ndim)``."""
    for subset in subsets:
        for axis in subset:
            if not 0 <= int(axis) < ndim:
                raise ValueError(f"mirror axis {axis} is not a spatial axis (0..{ndim - 1})")


def mirror_tta(
    predict_fn: Callable[[torch.Tensor], Any],
    inputs: torch.Tensor,
    axes: Sequence[int] | None = None,
    *,
    subsets: Sequence[Sequence[int]] | None = None,
    activation: str = "softmax",
) -> torch.Tensor:
    """Mean probabilities of ``predict_fn`` over mirrored copies of ``inputs`` ``(B, C, *spatial)``.

    ``axes`` are spatial axis indices (0 = first spatial axis; default: all) and every subset of
    them is used; ``subsets`` lists the flips explicitly instead (``()`` = the unflipped input).
    ``predict_fn`` returns logits ``(B, K, *spatial)`` (or a deep-supervision list), which
    ``activation`` (``"softmax"``, ``"sigmoid"`` or ``"none"``) turns into probabilities.
    """
    check_activation(activation)
    ndim = inputs.ndim - 2
    if subsets is None:
        subsets = mirror_subsets(mirror_axes_for(axes, ndim))
    elif axes is not None:
        raise ValueError("pass either axes or subsets to mirror_tta, not both")
    if not subsets:
        raise ValueError("mirror_tta needs at least one flip subset")
    _check_axes(subsets, ndim)
    total: torch.Tensor | None = None
    with torch.no_grad():
        for subset in subsets:
            dims = [int(a) + 2 for a in subset]
            flipped = torch.flip(inputs, dims) if dims else inputs
            probabilities = to_probabilities(first_output(predict_fn(flipped)), activation)
            if dims:
                probabilities = torch.flip(probabilities, dims)
            if total is None:
                # softmax, sigmoid and flip make new tensors; "none" may hand back the caller's own.
                total = probabilities if (dims or activation != "none") else probabilities.clone()
            else:
                total += probabilities
    assert total is not None
    return total.div_(len(subsets))
