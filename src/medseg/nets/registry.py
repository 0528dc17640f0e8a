"""Names -> network builders, with each network's patch-size divisibility rule.

A builder is ``build(in_channels, out_channels, patch_size, spacing, **params) -> nn.Module``.
``create_network`` checks the name, the number of spatial axes, the parameters and the patch
size (against ``required_divisor``) before building, and sets ``patch_size_divisor`` on the
returned module, so every network answers the same question the same way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from medseg.nets.divisibility import check_patch_size

Builder = Callable[..., nn.Module]
DivisorRule = Callable[[Sequence[int], Sequence[float] | None, dict[str, Any]], tuple[int, ...]]


@dataclass(frozen=True)
class NetworkEntry:
    """A registered network: its builder, divisor rule, supported dims and deep-supervision support."""

    name: str
    build: Builder
    divisor: DivisorRule
    spatial_dims: tuple[int, ...]
    deep_supervision: bool


_REGISTRY: dict[str, NetworkEntry] = {}


def fixed_divisor(divisor: int) -> DivisorRule:
    """A rule for networks that halve every axis ``log2(divisor)`` times whatever the spacing."""

    def rule(patch_size: Sequence[int], spacing: Sequence[float] | None, params: dict[str, Any]) -> tuple[int, ...]:
        return (divisor,) * len(patch_size)

    return rule


def register_network(
    name: str,
    divisor: int | DivisorRule,
    spatial_dims: tuple[int, ...] = (2, 3),
    deep_supervision: bool = False,
) -> Callable[[Builder], Builder]:
    """Decorator: register ``build`` under ``name`` (a fixed int divisor or a rule function)."""
    rule = fixed_divisor(divisor) if isinstance(divisor, int) else divisor

    def decorate(build: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"network {name!r} is already registered")
        _REGISTRY[name] = NetworkEntry(name, build, rule, tuple(spatial_dims), deep_supervision)
        return build

    return decorate


def available_networks() -> list[str]:
    """Registered network names, sorted."""
    return sorted(_REGISTRY)


def network_entry(name: str) -> NetworkEntry:
    """The registry entry for ``name`` (ValueError listing the valid names)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"network: unknown {name!r}; valid: {', '.join(available_networks())}") from None


def _check_params(entry: NetworkEntry, params: dict[str, Any]) -> None:
    signature = inspect.signature(entry.build)
    fixed = {"in_channels", "out_channels", "patch_size", "spacing"}
    accepted = [p for p in signature.parameters if p not in fixed]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"network {entry.name!r}: unknown parameter {unknown[0]!r}; valid: {', '.join(accepted)}")


def required_divisor(
    name: str, patch_size: Sequence[int], spacing: Sequence[float] | None = None, **params: Any
) -> tuple[int, ...]:
    """Per axis, the number the patch size must be a multiple of for network ``name``."""
    entry = network_entry(name)
    return entry.divisor([int(s) for s in patch_size], spacing, params)


def create_network(
    name: str,
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    **params: Any,
) -> nn.Module:
    """Build network ``name`` for ``patch_size`` and ``spacing`` (both in array axis order, z-y-x).

    Raises ValueError for an unknown name or parameter, a wrong number of axes, deep supervision
    on a network without it, or a patch size that is not a multiple of ``required_divisor``.
    """
    entry = network_entry(name)
    patch = [int(s) for s in patch_size]
    if len(patch) not in entry.spatial_dims:
        dims = " or ".join(f"{d}D" for d in entry.spatial_dims)
        raise ValueError(f"network {name!r}: patch_size {patch} is {len(patch)}D but the network supports {dims}")
    if spacing is not None and len(spacing) != len(patch):
        raise ValueError(f"network {name!r}: spacing {list(spacing)} must have {len(patch)} values like patch_size")
    if not entry.deep_supervision:
        if params.get("deep_supervision"):
            raise ValueError(f"network {name!r} has no deep supervision; pass deep_supervision=False")
        params.pop("deep_supervision", None)
    _check_params(entry, params)
    divisor = required_divisor(name, patch, spacing, **params)
    check_patch_size(name, patch, divisor)
    network = entry.build(in_channels, out_channels, patch, spacing, **params)
    network.__dict__["patch_size_divisor"] = divisor  # plain attributes, not submodules/buffers
    network.__dict__["network_name"] = name
    return network
