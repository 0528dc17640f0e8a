"""LayerT: a module type plus constructor keywords, built on demand with deferred values filled in.

Design (decided once, so the two kinds of string can never be confused):

* A *deferred* value is written ``Deferred("in_ch")``. It is replaced by the value of the keyword
  ``in_ch`` given to :meth:`LayerT.assemble`; that keyword is consumed and not passed on.
* A plain string (``mode="bilinear"``, ``padding_mode="zeros"``) is always a literal and is passed
  unchanged. If a plain string happens to equal a keyword given to ``assemble`` (the MIP Candy
  spelling ``num_features="in_ch"``), ``assemble`` raises instead of guessing, and says to write
  ``Deferred("in_ch")``.
* Every stored keyword and every keyword passed on by ``assemble`` is checked against the
  constructor's signature, so a typo is an error, never a silently ignored argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

ModuleFactory = Callable[..., nn.Module]


@dataclass(frozen=True)
class Deferred:
    """Marks a constructor value that is supplied later, by name, to :meth:`LayerT.assemble`."""

    name: str

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _accepted_keywords(factory: ModuleFactory) -> set[str] | None:
    """Keyword names ``factory`` accepts, or None when it takes ``**kwargs`` (or has no signature)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    names: set[str] = set()
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.add(parameter.name)
    return names


def _type_name(factory: ModuleFactory) -> str:
    return getattr(factory, "__name__", repr(factory))


class LayerT:
    """A deferred ``nn.Module`` description: ``LayerT(nn.BatchNorm3d, num_features=Deferred("ch"))``.

    ``assemble(*args, **kwargs)`` builds the module: positional arguments go to the constructor
    as given, keywords named by a ``Deferred`` fill it, and the other keywords override the
    stored ones.
    """

    def __init__(self, module_type: ModuleFactory, **kwargs: Any) -> None:
        if not callable(module_type):
            raise TypeError(f"LayerT: module_type must be a class or callable, got {module_type!r}")
        self.module_type = module_type
        self.kwargs: dict[str, Any] = dict(kwargs)
        self._accepted = _accepted_keywords(module_type)
        self._check_keywords(self.kwargs, "stored")

    @property
    def deferred_names(self) -> dict[str, str]:
        """``{parameter: deferred name}`` for every deferred keyword."""
        return {key: value.name for key, value in self.kwargs.items() if isinstance(value, Deferred)}

    def _check_keywords(self, keywords: Mapping[str, Any], origin: str) -> None:
        if self._accepted is None:
            return
        unknown = sorted(set(keywords) - self._accepted)
        if unknown:
            raise TypeError(
                f"{self._label()}: {origin} keyword {unknown[0]!r} is not a parameter of "
                f"{_type_name(self.module_type)} (accepted: {', '.join(sorted(self._accepted))})"
            )

    def _label(self) -> str:
        return f"LayerT({_type_name(self.module_type)})"

    def assemble(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Build the module; keywords named by a ``Deferred`` resolve it, the rest are passed on."""
        deferred = self.deferred_names
        wanted = set(deferred.values())
        resolved: dict[str, Any] = {}
        for key, value in self.kwargs.items():
            if isinstance(value, Deferred):
                if value.name not in kwargs:
                    given = ", ".join(sorted(kwargs)) or "none"
                    raise TypeError(
                        f"{self._label()}: parameter {key!r} is deferred to <{value.name}> but assemble() "
                        f"got no {value.name!r} keyword (got: {given})"
                    )
                resolved[key] = kwargs[value.name]
            elif isinstance(value, str) and value in kwargs and value not in wanted:
                raise TypeError(
                    f"{self._label()}: {key}={value!r} is a plain string equal to the assemble keyword "
                    f"{value!r}; write {key}=Deferred({value!r}) to defer it"
                )
            else:
                resolved[key] = value
        passed_on = {key: value for key, value in kwargs.items() if key not in wanted}
        self._check_keywords(passed_on, "assemble()")
        resolved.update(passed_on)
        return self.module_type(*args, **resolved)

    def update(self, **kwargs: Any) -> LayerT:
        """A new LayerT with ``kwargs`` merged over the stored keywords (this one is unchanged)."""
        return LayerT(self.module_type, **{**self.kwargs, **kwargs})

    def copy(self) -> LayerT:
        """An independent copy (the keyword dict is not shared)."""
        return LayerT(self.module_type, **self.kwargs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerT):
            return NotImplemented
        return self.module_type is other.module_type and self.kwargs == other.kwargs

    def __hash__(self) -> int:
        return hash((self.module_type, tuple(sorted(self.kwargs))))

    def __repr__(self) -> str:
        parts = [_type_name(self.module_type)] + [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"LayerT({', '.join(parts)})"
