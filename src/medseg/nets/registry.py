"""Names -> network builders, with what a planner needs to know about each network.

A builder is ``build(in_channels, out_channels, patch_size, spacing, **params) -> nn.Module``. Each
entry declares its parameter schema (the builder's keyword arguments and their defaults), its
patch-size divisibility rule, an optional extra patch check (e.g. "the bottleneck must keep more
than one voxel"), whether it has deep supervision, and how a planner sets its parameters for a
given patch, spacing and width (:meth:`NetworkEntry.planned_params`). ``create_network`` checks the
name, the number of spatial axes, the parameters and the patch size before building, and sets
``patch_size_divisor`` on the returned module, so every network answers the same questions the same
way. Every problem is a :class:`~medseg.core.errors.ConfigError` (one line, no traceback at the CLI).

Width: every network whose builder takes ``features_base`` can be widened or narrowed by the
planner (``width_multiple`` constrains it, e.g. 12 for Swin transformers).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from medseg.core.errors import ConfigError
from medseg.nets.divisibility import check_patch_size

Builder = Callable[..., nn.Module]
DivisorRule = Callable[[Sequence[int], Sequence[float] | None, dict[str, Any]], tuple[int, ...]]
PatchCheck = Callable[[Sequence[int]], None]
ParamRule = Callable[[Sequence[int], Sequence[float], int, int | None], dict[str, Any]]

_FIXED_ARGS = ("in_channels", "out_channels", "patch_size", "spacing")


@dataclass(frozen=True)
class NetworkEntry:
    """A registered network: builder, divisor rule, dims, deep supervision and planning hooks."""

    name: str
    build: Builder
    divisor: DivisorRule
    spatial_dims: tuple[int, ...]
    deep_supervision: bool
    check: PatchCheck | None = None
    plan_rule: ParamRule | None = None
    width_multiple: int = 1
    adaptive: bool = False

    def parameters(self) -> dict[str, Any]:
        """The parameter schema: name -> default (``inspect.Parameter.empty`` when required)."""
        signature = inspect.signature(self.build)
        return {name: p.default for name, p in signature.parameters.items() if name not in _FIXED_ARGS}

    @property
    def has_width(self) -> bool:
        """Whether the planner can choose this network's width (``features_base``)."""
        return "features_base" in self.parameters()

    def width(self, features_base: int) -> int:
        """``features_base`` rounded to this network's ``width_multiple`` (at least one multiple)."""
        m = self.width_multiple
        return max(m, round(features_base / m) * m)

    def planned_params(
        self,
        patch_size: Sequence[int],
        spacing: Sequence[float],
        features_base: int,
        max_poolings: int | None = None,
    ) -> dict[str, Any]:
        """The parameters a planner writes into the Plan for this patch, spacing and width.

        ``max_poolings`` caps the depth of spacing-adaptive networks (ignored by fixed ones).
        """
        if self.plan_rule is not None:
            return self.plan_rule(patch_size, spacing, self.width(features_base), max_poolings)
        return {"features_base": self.width(features_base)} if self.has_width else {}


_REGISTRY: dict[str, NetworkEntry] = {}


def fixed_divisor(divisor: int) -> DivisorRule:
    """A rule for networks that halve every axis ``log2(divisor)`` times whatever the spacing."""

    def rule(
        patch_size: Sequence[int], spacing: Sequence[float] | None, params: dict[str, Any]
    ) -> tuple[int, ...]:
        return (divisor,) * len(patch_size)

    return rule


def register_network(
    name: str,
    divisor: int | DivisorRule,
    spatial_dims: tuple[int, ...] = (2, 3),
    deep_supervision: bool = False,
    *,
    check: PatchCheck | None = None,
    plan_rule: ParamRule | None = None,
    width_multiple: int = 1,
) -> Callable[[Builder], Builder]:
    """Decorator: register ``build`` under ``name`` (a fixed int divisor or a spacing-adaptive rule).

    ``check(patch)`` raises ``ValueError`` for patches the network cannot take beyond divisibility;
    ``plan_rule(patch, spacing, width, max_poolings)`` returns the parameters a planner should use (default:
    ``{"features_base": width}`` when the builder takes it).
    """
    rule = fixed_divisor(divisor) if isinstance(divisor, int) else divisor

    def decorate(build: Builder) -> Builder:
        if name in _REGISTRY:
            raise ConfigError(f"network {name!r} is already registered")
        _REGISTRY[name] = NetworkEntry(
            name,
            build,
            rule,
            tuple(spatial_dims),
            deep_supervision,
            check,
            plan_rule,
            width_multiple,
            adaptive=not isinstance(divisor, int),
        )
        return build

    return decorate


def available_networks() -> list[str]:
    """Registered network names, sorted."""
    return sorted(_REGISTRY)


def network_entry(name: str) -> NetworkEntry:
    """The registry entry for ``name`` (ConfigError listing the valid names)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"network: unknown {name!r}; valid: {', '.join(available_networks())}") from None


def check_params(name: str, params: dict[str, Any]) -> None:
    """Raise ConfigError naming the first parameter that network ``name`` does not take."""
    entry = network_entry(name)
    accepted = list(entry.parameters())
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(f"network {name!r}: unknown parameter {unknown[0]!r}; valid: {', '.join(accepted)}")


def required_divisor(
    name: str, patch_size: Sequence[int], spacing: Sequence[float] | None = None, **params: Any
) -> tuple[int, ...]:
    """Per axis, the number the patch size must be a multiple of for network ``name``."""
    entry = network_entry(name)
    return entry.divisor([int(s) for s in patch_size], spacing, params)


def check_patch(
    name: str, patch_size: Sequence[int], spacing: Sequence[float] | None = None, **params: Any
) -> None:
    """Raise ConfigError when network ``name`` cannot take ``patch_size`` (divisibility, extra rules)."""
    entry = network_entry(name)
    patch = [int(s) for s in patch_size]
    if len(patch) not in entry.spatial_dims:
        dims = " or ".join(f"{d}D" for d in entry.spatial_dims)
        raise ConfigError(
            f"network {name!r}: patch_size {patch} is {len(patch)}D but the network supports {dims}"
        )
    try:
        check_patch_size(name, patch, required_divisor(name, patch, spacing, **params))
        if entry.check is not None:
            entry.check(patch)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def fit_patch(
    name: str,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    round_up: bool = False,
    **params: Any,
) -> list[int]:
    """``patch_size`` rounded per axis to what network ``name`` accepts (down unless ``round_up``).

    Rounding follows the network's divisor (spacing-adaptive for U-Nets, fixed otherwise); an axis is
    then grown by one divisor at a time, the smallest axis first, until the extra check passes.
    """
    entry = network_entry(name)
    patch = [max(1, int(p)) for p in patch_size]
    for _ in range(16):
        div = required_divisor(name, patch, spacing, **params)
        new = [-(-p // d) * d if round_up else max(d, (p // d) * d) for p, d in zip(patch, div)]
        if new == patch:
            break
        patch = new
    for _ in range(64):
        try:
            if entry.check is not None:
                entry.check(patch)
            return patch
        except ValueError:
            div = required_divisor(name, patch, spacing, **params)
            axis = min(range(len(patch)), key=lambda a: patch[a])
            patch[axis] += div[axis]
    raise ConfigError(f"network {name!r}: no valid patch near {list(patch_size)}")


def create_network(
    name: str,
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    **params: Any,
) -> nn.Module:
    """Build network ``name`` for ``patch_size`` and ``spacing`` (both in array axis order, z-y-x).

    Raises ConfigError for an unknown name or parameter, a wrong number of axes, deep supervision
    on a network without it, or a patch size the network cannot take (with the nearest valid sizes).
    """
    entry = network_entry(name)
    patch = [int(s) for s in patch_size]
    if spacing is not None and len(spacing) != len(patch):
        raise ConfigError(
            f"network {name!r}: spacing {list(spacing)} must have {len(patch)} values like patch_size"
        )
    if not entry.deep_supervision:
        if params.get("deep_supervision"):
            raise ConfigError(f"network {name!r} has no deep supervision; pass deep_supervision=False")
        params.pop("deep_supervision", None)
    check_params(name, params)
    check_patch(name, patch, spacing, **params)
    try:
        network = entry.build(in_channels, out_channels, patch, spacing, **params)
    except ValueError as exc:
        raise ConfigError(" ".join(str(exc).split())) from None
    network.__dict__["patch_size_divisor"] = required_divisor(name, patch, spacing, **params)
    network.__dict__["network_name"] = name
    return network
