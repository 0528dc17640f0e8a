"""Reading, writing and overriding config documents (JSON or YAML, chosen by the file suffix)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medseg.config.errors import format_validation_error
from medseg.config.schema import Config
from medseg.core.atomic import write_text_atomic
from medseg.core.errors import ConfigError

YAML_SUFFIXES = (".yaml", ".yml")


def parse_config(data: Any, source: str = "config") -> Config:
    """Validate a parsed document; the first problem raises one :class:`ConfigError` line."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the document must be a mapping of sections, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, root=Config)) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file (``.json``, ``.yaml`` or ``.yml``)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not a UTF-8 text file (a config is JSON or YAML text)") from None
    if source.suffix.lower() in YAML_SUFFIXES:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None)
            raise ConfigError(f"{source}: not valid YAML ({problem or 'parse error'}{where})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_config(data, str(source))


def dump_config(config: Config, yaml_format: bool = False) -> str:
    """The document as text (JSON, or YAML with ``yaml_format``)."""
    data = config.model_dump(mode="json")
    if yaml_format:
        import yaml

        return str(yaml.safe_dump(data, sort_keys=False))
    return json.dumps(data, indent=2) + "\n"


def save_config(config: Config, path: str | os.PathLike[str]) -> Path:
    """Write the document atomically (temporary file + rename); YAML for ``.yaml``/``.yml``."""
    target = Path(path)
    return write_text_atomic(target, dump_config(config, yaml_format=target.suffix.lower() in YAML_SUFFIXES))


def apply_overrides(config: Config, overrides: Mapping[str, Any], source: str = "override") -> Config:
    """A copy of ``config`` with dotted keys (``training.lr``) set, re-validated as a whole."""
    data = config.model_dump()
    for key, value in overrides.items():
        parts = key.split(".")
        target = data
        for part in parts[:-1]:
            if not isinstance(target, dict) or part not in target:
                raise ConfigError(f"{source}: unknown key '{key}'")
            if target[part] is None:
                target[part] = {}
            target = target[part]
        if not isinstance(target, dict):
            raise ConfigError(f"{source}: unknown key '{key}'")
        target[parts[-1]] = copy.deepcopy(value)
    return parse_config(data, source)
