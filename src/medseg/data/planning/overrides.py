"""Overriding plan fields: ``{"patch_size": [...], "normalization.0.scheme": "ct", ...}``, validated.

Keys are Plan fields, with dots to reach into nested fields (``resampling.separate_z_axis``,
``network.params.features_base``, ``normalization.0.scheme``). An invalid key or value raises one
:class:`~medseg.core.errors.ConfigError` line naming the key, the bad value and the valid choices.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from medseg.config.plan import Plan
from medseg.core.errors import ConfigError

_AXIS_LETTERS = ({"R", "L"}, {"A", "P"}, {"S", "I"})
ORIENTATION_CHOICES = "None or a 3-letter code with one of R/L, A/P, S/I each, e.g. 'RAS', 'LPS'"


def override_error(key: str, value: Any, problem: str, choices: str) -> ConfigError:
    """The one-line error for a bad override."""
    return ConfigError(f"plan override '{key}' = {value!r} is invalid: {problem}; valid choices: {choices}")


def check_orientation(value: Any, key: str = "orientation") -> str | None:
    """``None`` or a valid 3-letter orientation code (upper-cased); anything else raises."""
    if value is None:
        return None
    code = str(value).upper() if isinstance(value, str) else ""
    letters_ok = len(code) == 3 and all(len(set(code) & axis) == 1 for axis in _AXIS_LETTERS)
    if not letters_ok:
        raise override_error(key, value, "not an orientation code", ORIENTATION_CHOICES)
    return code


def _set(data: Any, path: list[str], value: Any, key: str) -> None:
    head, rest = path[0], path[1:]
    if isinstance(data, list):
        if not head.isdigit() or int(head) >= len(data):
            raise override_error(key, value, f"no list index {head}", f"0..{len(data) - 1}")
        slot: Any = int(head)
    elif isinstance(data, dict):
        slot = head
        if rest and head not in data:
            data[head] = {}
    else:
        raise override_error(key, value, f"'{head}' is inside a plain value", "a key of a nested field")
    if rest:
        _set(data[slot], rest, value, key)
    else:
        data[slot] = copy.deepcopy(value)


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _problem_and_choices(error: Mapping[str, Any]) -> tuple[str, str]:
    ctx = error.get("ctx") or {}
    message = str(error["msg"]).removeprefix("Value error, ")
    if "expected" in ctx:
        return "not one of the choices", str(ctx["expected"])
    bounds = [f"{sign} {ctx[k]}" for k, sign in _BOUNDS.items() if k in ctx]
    if bounds:
        return message, "a number " + " and ".join(bounds)
    return message, "see the Plan schema in medseg.config.plan"


def apply_overrides(plan: Plan, overrides: Mapping[str, Any] | None) -> Plan:
    """A copy of ``plan`` with ``overrides`` applied and the whole plan re-validated."""
    if not overrides:
        return plan
    data = plan.model_dump()
    fields = sorted(Plan.model_fields)
    for key, value in overrides.items():
        path = str(key).split(".")
        if path[0] not in Plan.model_fields:
            raise override_error(key, value, "unknown plan field", ", ".join(fields))
        if key == "orientation":
            value = check_orientation(value)
        _set(data, path, value, key)
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        problem, choices = _problem_and_choices(error)
        for key, value in overrides.items():
            path = str(key).split(".")
            matches = loc[: len(path)] == path or path[: len(loc)] == loc
            if (loc and matches) or (not loc and path[0] in problem):
                raise override_error(key, value, problem, choices) from None
        keys = ", ".join(f"'{k}'" for k in overrides)
        raise ConfigError(f"plan overrides {keys} are inconsistent: {problem}") from None
