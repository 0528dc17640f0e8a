"""From network outputs to probabilities, and from probabilities to labels."""

from __future__ import annotations

import torch

ACTIVATIONS: tuple[str, ...] = ("softmax", "sigmoid", "none")


def check_activation(activation: str) -> None:
    """Raise a one-line ValueError when ``activation`` is not a known name."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")


def to_probabilities(logits: torch.Tensor, activation: str = "softmax") -> torch.Tensor:
    """Softmax over channels (axis 1), element-wise sigmoid, or the output unchanged (``"none"``)."""
    check_activation(activation)
    if activation == "softmax":
        return torch.softmax(logits.float(), dim=1)
    if activation == "sigmoid":
        return torch.sigmoid(logits.float())
    return logits.float()


def probabilities_to_labels(probabilities: torch.Tensor, activation: str = "softmax") -> torch.Tensor:
    """Labels ``(B, *spatial)`` by argmax over channels; for sigmoid, channel masks ``> 0.5`` (int64)."""
    check_activation(activation)
    if activation == "sigmoid":
        return (probabilities > 0.5).long()
    return probabilities.argmax(dim=1)
