"""Small helpers shared by the dataset formats: JSON descriptions, file names and case ids."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from medseg.core.errors import DatasetError
from medseg.core.vocab import image_suffix


def load_json_object(path: Path) -> dict[str, Any]:
    """Parse a JSON object from ``path``; errors name the file (and the line/column of bad JSON)."""
    if not path.is_file():
        raise DatasetError(f"{path}: file does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a UTF-8 text file") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object at the top level, got {type(data).__name__}")
    return data


def require_key(data: dict[str, Any], key: str, kind: type, source: Path) -> Any:
    """``data[key]``, which must exist and be of type ``kind``."""
    if key not in data:
        raise DatasetError(f"{source}: required key '{key}' is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise DatasetError(f"{source}: key '{key}' must be a {kind.__name__}, got {type(value).__name__}")
    return value


def indexed_names(mapping: Any, key: str, source: Path) -> list[str]:
    """``{"0": "T2", "1": "ADC"}`` -> ``["T2", "ADC"]``; keys must be the integers 0..n-1."""
    if not isinstance(mapping, dict) or not mapping:
        raise DatasetError(f'{source}: key \'{key}\' must be a non-empty object like {{"0": "CT"}}')
    try:
        items = sorted((int(k), str(v)) for k, v in mapping.items())
    except ValueError:
        raise DatasetError(f"{source}: keys of '{key}' must be integers, got {sorted(mapping)}") from None
    if [i for i, _ in items] != list(range(len(items))):
        raise DatasetError(
            f"{source}: keys of '{key}' must be 0..{len(items) - 1}, got {[i for i, _ in items]}"
        )
    return [name for _, name in items]


def strip_suffix(name: str) -> str:
    """A file name without its image suffix: ``hippocampus_367.nii.gz`` -> ``hippocampus_367``."""
    suffix = image_suffix(name)
    return name[: len(name) - len(suffix)] if suffix else Path(name).stem


def is_hidden(path: Path) -> bool:
    """True for hidden files, including macOS ``._`` resource forks shipped inside MSD archives."""
    return path.name.startswith(".")


def list_image_files(folder: Path) -> list[Path]:
    """The visible image files of ``folder`` (known suffixes only), naturally sorted."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder does not exist")
    files = [p for p in folder.iterdir() if p.is_file() and not is_hidden(p) and image_suffix(p.name)]
    return sorted(files, key=lambda p: natural_key(p.name))


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders embedded numbers by value: ``2.png`` before ``10.png``."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)
