"""Lazy package exports (PEP 562): a name is imported from its module on first use.

Packages export their heavier pieces this way so ``import medseg.<package>`` stays fast and no
import cycle can form between subpackages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: Mapping[str, Any], names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, importing ``names[name]`` when ``name`` is asked for."""

    def getattr_(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted([*namespace, *names])

    return getattr_, dir_
