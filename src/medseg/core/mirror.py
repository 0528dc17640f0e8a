"""Which flips mirror test-time augmentation averages: one rule for the torch and the lite predictor."""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def mirror_subsets(axes: Sequence[int]) -> list[tuple[int, ...]]:
    """All ``2**len(axes)`` subsets of ``axes``, the empty one (no flip) first."""
    unique = list(dict.fromkeys(int(a) for a in axes))
    return [combo for r in range(len(unique) + 1) for combo in itertools.combinations(unique, r)]


def mirror_axes_for(axes: Sequence[int] | None, dims: int) -> tuple[int, ...]:
    """The spatial axes mirror TTA flips: ``axes``, or every one of the ``dims`` when ``None``."""
    return tuple(range(dims)) if axes is None else tuple(int(a) for a in axes)
