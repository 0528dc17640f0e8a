"""Class weights for the class-weighted losses: given by the user, or inverse class frequency.

The rule: ``w_c = (1 / f_c) / mean_k (1 / f_k)`` where ``f_c`` is the fraction of training voxels in
class ``c`` (for sigmoid outputs, in region ``c``). Weights are inverse frequencies scaled to mean
1, so a balanced dataset gets all ones and the loss keeps its usual scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from medseg.core.errors import ConfigError

KEY = "training.loss_params.class_weights"


def inverse_frequency_weights(frequencies: Sequence[float]) -> list[float]:
    """Inverse-frequency weights normalised to mean 1 (ConfigError when a class never occurs)."""
    values = [float(f) for f in frequencies]
    for c, f in enumerate(values):
        if not math.isfinite(f) or f <= 0:
            raise ConfigError(
                f"{KEY}: class {c} has frequency {f:g} in the training data, so its inverse-"
                "frequency weight is undefined; give class_weights explicitly"
            )
    inverse = [1.0 / f for f in values]
    mean = sum(inverse) / len(inverse)
    return [w / mean for w in inverse]


def resolve_class_weights(
    loss_name: str,
    channels: int,
    class_frequencies: Sequence[float] | None,
    class_weights: Sequence[float] | None,
) -> list[float]:
    """``class_weights`` if given (checked), else the inverse-frequency weights of ``class_frequencies``.

    ``channels`` is the number of values expected. One-line ConfigError naming
    ``training.loss_params.class_weights`` when neither is available or the weights are invalid.
    """
    if class_weights is not None:
        if isinstance(class_weights, str | bytes) or not isinstance(class_weights, Sequence):
            raise ConfigError(f"{KEY}: expected a list of {channels} numbers, got {class_weights!r}")
        weights = list(class_weights)
        if len(weights) != channels:
            raise ConfigError(
                f"{KEY}: expected {channels} values (one per output channel), got {len(weights)}"
            )
        for w in weights:
            if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
                raise ConfigError(f"{KEY}: weights must be finite numbers >= 0, got {w!r}")
        if not any(weights):
            raise ConfigError(f"{KEY}: at least one weight must be > 0")
        return [float(w) for w in weights]
    if class_frequencies is None:
        raise ConfigError(
            f"{KEY}: loss {loss_name!r} needs the class frequencies of the training data "
            "or explicit class_weights; none given"
        )
    if len(class_frequencies) != channels:
        raise ValueError(f"class_frequencies has {len(class_frequencies)} values, expected {channels}")
    return inverse_frequency_weights(class_frequencies)
