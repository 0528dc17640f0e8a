"""Alpha schedules for composite losses: ``loss = alpha * region + (1 - alpha) * other``.

A schedule maps ``(epoch, num_epochs)`` to alpha and keeps no state, so resuming a run at epoch
``e`` reproduces alpha exactly. Epochs count from 0; the last epoch is ``num_epochs - 1``.

* ``constant`` (``value``, default 0.5): alpha fixed.
* ``linear`` (``start_val`` 1.0, ``end_val`` 0.0, ``init_pause`` 5): alpha stays at ``start_val``
  for epochs ``0..init_pause``, then moves linearly to reach ``end_val`` at the last epoch.
* ``cosine`` (same parameters): the same path shaped as half a cosine (slow, fast, slow).
* ``step`` (same parameters + ``num_steps`` 4): the path as a staircase, ``num_steps`` equal drops
  splitting the decay into ``num_steps + 1`` plateaus of equal length (first ``start_val``, last
  ``end_val``).

With the defaults the region term (Dice) leads first and the other term (boundary, topology) takes
over, as MIST recommends for clDice. The config form is MIST's: ``{"name": ..., "params": {...}}``
(a bare name means its default parameters; ``None`` means ``constant`` 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

from medseg.core.errors import ConfigError

KEY = "training.composite_weighting"
CompositeWeighting = Mapping[str, Any] | str | None


def decay_fraction(epoch: int, num_epochs: int, init_pause: int) -> float:
    """How far along the decay epoch ``epoch`` is: 0 up to ``init_pause``, 1 at the last epoch."""
    if epoch < 0 or num_epochs < 1:
        raise ValueError(f"need epoch >= 0 and num_epochs >= 1, got epoch={epoch}, num_epochs={num_epochs}")
    span = max(1, num_epochs - 1 - init_pause)
    return min(1.0, max(0.0, (epoch - init_pause) / span))


@dataclass(frozen=True)
class ConstantSchedule:
    """alpha = ``value`` at every epoch."""

    value: float = 0.5

    def __call__(self, epoch: int, num_epochs: int) -> float:
        """alpha at ``epoch`` of ``num_epochs``."""
        decay_fraction(epoch, num_epochs, 0)  # validates the arguments
        return self.value


@dataclass(frozen=True)
class LinearSchedule:
    """alpha from ``start_val`` to ``end_val`` in a straight line after ``init_pause`` epochs."""

    start_val: float = 1.0
    end_val: float = 0.0
    init_pause: int = 5

    def shape(self, t: float) -> float:
        """The fraction of the way from start to end at decay fraction ``t``."""
        return t

    def __call__(self, epoch: int, num_epochs: int) -> float:
        """alpha at ``epoch`` of ``num_epochs``."""
        s = self.shape(decay_fraction(epoch, num_epochs, self.init_pause))
        return (1.0 - s) * self.start_val + s * self.end_val  # exact at both ends


@dataclass(frozen=True)
class CosineSchedule(LinearSchedule):
    """alpha from ``start_val`` to ``end_val`` along half a cosine after ``init_pause`` epochs."""

    def shape(self, t: float) -> float:
        """``(1 - cos(pi t)) / 2``."""
        return (1.0 - math.cos(math.pi * t)) / 2.0


@dataclass(frozen=True)
class StepSchedule(LinearSchedule):
    """alpha from ``start_val`` to ``end_val`` in ``num_steps`` equal drops after ``init_pause`` epochs."""

    num_steps: int = 4

    def shape(self, t: float) -> float:
        """``floor(t (n + 1)) / n`` capped at 1: ``n + 1`` plateaus of equal length."""
        return min(1.0, math.floor(t * (self.num_steps + 1)) / self.num_steps)


class AlphaSchedule(Protocol):
    """Anything that maps ``(epoch, num_epochs)`` to alpha in [0, 1] without keeping state."""

    def __call__(self, epoch: int, num_epochs: int) -> float:
        """alpha at ``epoch`` of ``num_epochs``."""
        ...


SCHEDULES: dict[str, type[ConstantSchedule] | type[LinearSchedule]] = {
    "constant": ConstantSchedule,
    "linear": LinearSchedule,
    "cosine": CosineSchedule,
    "step": StepSchedule,
}
_INTEGER = {"init_pause", "num_steps"}
_LOWEST = {"init_pause": 0, "num_steps": 1}


def _parse(spec: CompositeWeighting) -> tuple[str, Mapping[str, Any]]:
    if spec is None:
        return "constant", {}
    if isinstance(spec, str):
        return spec, {}
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{KEY}: expected a mapping {{name, params}}, a schedule name or null, got {spec!r}"
        )
    unknown = sorted(set(spec) - {"name", "params"})
    if unknown:
        raise ConfigError(f"{KEY}: unknown key {unknown[0]!r}; valid: name, params")
    if "name" not in spec:
        raise ConfigError(f"{KEY}: missing 'name'; valid: {', '.join(sorted(SCHEDULES))}")
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{KEY}.params: expected a mapping, got {params!r}")
    return spec["name"], params


def _check_value(key: str, value: Any) -> Any:
    where = f"{KEY}.params.{key}"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in _INTEGER:
        if not number or value != int(value) or value < _LOWEST[key]:
            raise ConfigError(f"{where}: must be an integer >= {_LOWEST[key]}, got {value!r}")
        return int(value)
    if not number or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: must be a number in [0, 1], got {value!r}")
    return float(value)


def check_composite_weighting(spec: CompositeWeighting) -> tuple[str, dict[str, Any]]:
    """Validate ``training.composite_weighting``; returns ``(name, params)`` with defaults omitted.

    One-line :class:`ConfigError` for an unknown schedule or parameter, or a value out of range
    (alphas in [0, 1], ``init_pause`` an integer >= 0, ``num_steps`` an integer >= 1).
    """
    name, params = _parse(spec)
    if name not in SCHEDULES:
        raise ConfigError(f"{KEY}.name: unknown schedule {name!r}; valid: {', '.join(sorted(SCHEDULES))}")
    valid = sorted(f.name for f in fields(SCHEDULES[name]))
    checked: dict[str, Any] = {}
    for key, value in params.items():
        if key not in valid:
            raise ConfigError(
                f"{KEY}.params: unknown parameter {key!r} for schedule {name!r}; valid: {', '.join(valid)}"
            )
        checked[key] = _check_value(key, value)
    return name, checked


def build_schedule(spec: CompositeWeighting = None) -> AlphaSchedule:
    """The schedule described by ``training.composite_weighting`` (checked first)."""
    name, params = check_composite_weighting(spec)
    return SCHEDULES[name](**params)
