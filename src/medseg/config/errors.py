"""One-line messages for invalid config documents: the key, the bad value and the valid choices."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Foo | None`` or ``list[Foo]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _keys_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the model that holds the location ``loc`` (empty if unknown)."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field is not None else None
    return sorted(model.model_fields) if model is not None else []


def _choices(error: Any, root: type[BaseModel] | None) -> str:
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    bounds = [f"{sign} {ctx[k]}" for k, sign in _BOUNDS.items() if k in ctx]
    if bounds:
        return "a number " + " and ".join(bounds)
    kind = str(error["type"])
    named = {
        "bool": "true or false",
        "int": "an integer",
        "float": "a number",
        "string": "a string",
        "list": "a list",
        "dict": "a mapping",
    }
    for prefix, text in named.items():
        if kind.startswith(prefix + "_"):
            return text
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return str(error["msg"]).removeprefix("Input should be ").removeprefix("a valid ")
    if kind == "too_short":
        return f"a list of at least {ctx.get('min_length')} entries"
    if kind == "too_long":
        return f"a list of at most {ctx.get('max_length')} entries"
    return "see docs/config-reference.md"


def format_validation_error(
    exc: ValidationError,
    source: str,
    *,
    root: type[BaseModel] | None = None,
    key_map: Callable[[str], str] | None = None,
) -> str:
    """The first error of ``exc`` as one line: ``source: key 'a.b' = value: problem; valid choices: ...``."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "<root>"
    if key_map is not None:
        key = key_map(key)
    if error["type"] == "extra_forbidden":
        valid = _keys_at(root, loc) if root is not None else []
        choices = ", ".join(valid) if valid else "see docs/config-reference.md"
        return f"{source}: unknown key '{key}'; valid keys here: {choices}"
    if error["type"] == "missing":
        return f"{source}: key '{key}' is required"
    value = error.get("input")
    problem = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "value_error" and not loc:
        return f"{source}: {problem}"
    if error["type"] == "value_error":
        return f"{source}: key '{key}' = {value!r} is invalid; {problem}"
    return f"{source}: key '{key}' = {value!r} is invalid; valid choices: {_choices(error, root)}"


__all__ = ["format_validation_error"]
