"""Names -> loss builders, each declaring whether it needs distance maps and whether it is composite.

A builder is a class (or function) whose parameters before ``*`` are the inputs medseg supplies,
taken by name from ``out_channels``, ``activation``, ``spacing``, ``class_frequencies`` and (for a
composite loss) ``schedule``; its keyword-only parameters are the user's ``training.loss_params``.
:func:`check_loss` validates a name, its parameters and a composite weighting in one-line
:class:`~medseg.core.errors.ConfigError` messages (the config layer calls it when loading);
:func:`build_loss` checks the same, then builds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from medseg.core.errors import ConfigError
from medseg.losses.base import Activation, check_activation
from medseg.losses.schedules import CompositeWeighting, build_schedule, check_composite_weighting

Builder = Callable[..., nn.Module]
B = TypeVar("B", bound=Builder)

#: The inputs medseg passes to a builder (by name, when its signature has them).
SUPPLIED = ("out_channels", "activation", "spacing", "class_frequencies", "schedule")


@dataclass(frozen=True)
class LossEntry:
    """A registered loss: its builder, its user parameters and what it needs from the trainer."""

    name: str
    build: Builder
    params: tuple[str, ...]
    needs_dtm: bool
    composite: bool
    summary: str


_REGISTRY: dict[str, LossEntry] = {}


def _user_params(build: Builder) -> tuple[str, ...]:
    signature = inspect.signature(build)
    return tuple(
        sorted(p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY)
    )


def register_loss(name: str, *, needs_dtm: bool = False, composite: bool = False) -> Callable[[B], B]:
    """Decorator: register ``build`` under ``name`` (``needs_dtm``: it computes distance maps of the
    target, so it takes ``spacing``; ``composite``: it blends two terms with a scheduled alpha)."""

    def decorate(build: B) -> B:
        if name in _REGISTRY:
            raise ValueError(f"loss {name!r} is already registered")
        accepted = set(inspect.signature(build).parameters)
        for flag, needed in ((needs_dtm, "spacing"), (composite, "schedule")):
            if flag and needed not in accepted:
                raise ValueError(f"loss {name!r}: a builder with this flag must accept {needed!r}")
        doc = inspect.getdoc(build) or ""
        summary = doc.splitlines()[0] if doc else name
        _REGISTRY[name] = LossEntry(name, build, _user_params(build), needs_dtm, composite, summary)
        return build

    return decorate


def available_losses() -> list[str]:
    """Registered loss names, sorted."""
    return sorted(_REGISTRY)


def composite_losses() -> list[str]:
    """Names of the losses with an alpha schedule, sorted."""
    return sorted(n for n, e in _REGISTRY.items() if e.composite)


def loss_entry(name: str) -> LossEntry:
    """The registry entry for ``name`` (ConfigError naming ``training.loss`` and the valid names)."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"training.loss: unknown loss {name!r}; valid: {', '.join(available_losses())}"
        ) from None


def check_loss(
    name: str, params: Mapping[str, Any] | None = None, composite_weighting: CompositeWeighting = None
) -> LossEntry:
    """Validate a loss name, the names of its parameters and its composite weighting.

    Raises :class:`ConfigError` with one line: an unknown name (``training.loss``, listing the valid
    names), an unknown parameter (``training.loss_params``, listing the loss's parameters), or a bad
    ``training.composite_weighting`` (see :func:`medseg.losses.schedules.check_composite_weighting`).
    Parameter *values* are checked when the loss is built.
    """
    entry = loss_entry(name)
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(
            f"training.loss_params: expected a mapping of parameter names to values, got {params!r}"
        )
    for key in params or {}:
        if key not in entry.params:
            valid = ", ".join(entry.params) or "none"
            raise ConfigError(
                f"training.loss_params: unknown parameter {key!r} for loss {name!r}; valid: {valid}"
            )
    if composite_weighting is not None and not entry.composite:
        raise ConfigError(
            f"training.composite_weighting: loss {name!r} has no alpha to schedule; "
            f"composite losses: {', '.join(composite_losses())}"
        )
    check_composite_weighting(composite_weighting)
    return entry


def build_loss(
    name: str,
    *,
    out_channels: int,
    activation: Activation,
    spacing: Sequence[float],
    class_frequencies: Sequence[float] | None = None,
    params: Mapping[str, Any] | None = None,
    composite_weighting: CompositeWeighting = None,
) -> nn.Module:
    """Build loss ``name`` for a network with ``out_channels`` outputs and ``activation``.

    ``spacing`` is the voxel spacing in mm in array axis order (z, y, x for 3D), used by the
    distance-map losses; ``class_frequencies`` (fraction of voxels per class, or per region for
    sigmoid) feed the class-weighted losses; ``params`` are ``training.loss_params`` and
    ``composite_weighting`` is ``training.composite_weighting`` (``None``: alpha 0.5 throughout).
    """
    entry = check_loss(name, params, composite_weighting)
    check_activation(out_channels, activation)
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) not in (2, 3) or min(spacing) <= 0:
        raise ValueError(f"spacing must hold 2 or 3 positive values, got {list(spacing)}")
    supplied: dict[str, Any] = {
        "out_channels": out_channels,
        "activation": activation,
        "spacing": spacing,
        "class_frequencies": class_frequencies,
    }
    if entry.composite:
        supplied["schedule"] = build_schedule(composite_weighting)
    accepted = inspect.signature(entry.build).parameters
    kwargs = {k: v for k, v in supplied.items() if k in accepted}
    loss = entry.build(**kwargs, **dict(params or {}))
    loss.__dict__["loss_name"] = name  # a plain attribute, not a submodule
    return loss
