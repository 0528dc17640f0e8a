"""Ensembles: the weighted mean probability of several models (folds, checkpoints, EMA weights).

A member is either a predictor (a module or a function ``inputs -> logits``, e.g. a sliding
window or a mirror-TTA closure around one fold's network) or a probability map computed before.
Probabilities are added into one running sum, so only one member's output is held at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from medseg.inference.activation import check_activation, probabilities_to_labels, to_probabilities
from medseg.inference.sliding_window import first_output

Member = torch.Tensor | Callable[[torch.Tensor], Any]
OUTPUTS: tuple[str, ...] = ("probabilities", "labels")


def _weights(count: int, weights: Sequence[float] | None) -> list[float]:
    """Validated member weights (default: equal)."""
    if weights is None:
        return [1.0] * count
    values = [float(w) for w in weights]
    if len(values) != count:
        raise ValueError(f"weights has {len(values)} values for {count} ensemble members")
    if any(w < 0 for w in values) or sum(values) <= 0:
        raise ValueError(f"weights {values} must be non-negative with a positive sum")
    return values


def ensemble_probabilities(
    members: Sequence[Member],
    inputs: torch.Tensor | None = None,
    weights: Sequence[float] | None = None,
    *,
    activation: str = "softmax",
    output: str = "probabilities",
) -> torch.Tensor:
    """Weighted mean of the members' probabilities ``(B, K, *spatial)``, or its labels.

    Predictor members are called on ``inputs`` and their logits passed through ``activation``
    (``"softmax"``, ``"sigmoid"`` or ``"none"``); tensor members are used as probabilities as they
    are. ``output="labels"`` returns the argmax (or ``> 0.5`` masks for sigmoid) instead.
    """
    check_activation(activation)
    if output not in OUTPUTS:
        raise ValueError(f"output {output!r} is not one of {', '.join(OUTPUTS)}")
    if not members:
        raise ValueError("ensemble_probabilities needs at least one member")
    values = _weights(len(members), weights)
    total: torch.Tensor | None = None
    with torch.no_grad():
        for index, (member, weight) in enumerate(zip(members, values, strict=True)):
            if isinstance(member, torch.Tensor):
                probabilities = member.float()
            else:
                if inputs is None:
                    raise ValueError(f"ensemble member {index} is a predictor, so inputs are required")
                probabilities = to_probabilities(first_output(member(inputs)), activation)
            if total is None:
                total = probabilities * weight
            elif probabilities.shape != total.shape:
                raise ValueError(
                    f"ensemble member {index} gives shape {tuple(probabilities.shape)}, "
                    f"member 0 gave {tuple(total.shape)}"
                )
            else:
                total.add_(probabilities, alpha=weight)
    assert total is not None
    mean = total.div_(sum(values))
    return probabilities_to_labels(mean, activation) if output == "labels" else mean
