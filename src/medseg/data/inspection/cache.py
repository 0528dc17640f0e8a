"""Content keys for the fingerprint cache: a hash of the bytes of every case's files.

When a dataset is backed by files (``dataset.files[i].all_paths()``, possibly through subsets,
concatenations or label-map wrappers), the key hashes those files without reading the images.
Otherwise each case is loaded and the files named by its images' ``meta["source"]`` are hashed, and
when there are none, the arrays and geometry themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medseg.data.case import Case

_CHUNK = 1 << 20
_WRAPPER_ATTRIBUTES = ("mapping", "classes", "nonfinite")


def _hash_file(digest: Any, path: Path) -> None:
    digest.update(path.name.encode("utf-8"))
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)


def _file_paths(dataset: object, index: int) -> list[Path] | None:
    """The files of case ``index`` when the dataset (or what it wraps) lists them, else ``None``."""
    files = getattr(dataset, "files", None)
    if isinstance(files, Sequence) and index < len(files) and hasattr(files[index], "all_paths"):
        return [Path(p) for p in files[index].all_paths()]
    parent, indices = getattr(dataset, "parent", None), getattr(dataset, "indices", None)
    if parent is not None and isinstance(indices, Sequence):
        return _file_paths(parent, int(indices[index]))
    parts = getattr(dataset, "datasets", None)
    if isinstance(parts, Sequence):
        for part in parts:
            size = len(part)
            if index < size:
                return _file_paths(part, index)
            index -= size
        return None
    inner = getattr(dataset, "dataset", None)
    return None if inner is None else _file_paths(inner, index)


def _describe(dataset: object) -> str:
    """Type names and label-changing options of a dataset and what it wraps (part of the key)."""
    parts = [type(dataset).__name__]
    parts += [f"{a}={getattr(dataset, a)!r}" for a in _WRAPPER_ATTRIBUTES if hasattr(dataset, a)]
    for attribute in ("parent", "dataset"):
        inner = getattr(dataset, attribute, None)
        if inner is not None:
            parts.append(f"[{_describe(inner)}]")
    for inner in getattr(dataset, "datasets", None) or []:
        parts.append(f"[{_describe(inner)}]")
    return " ".join(parts)


def _hash_loaded_case(digest: Any, case: Case) -> None:
    images = [im for im in (case.image, case.label, case.mask) if im is not None]
    sources = [Path(s) for im in images for s in im.meta.get("source", "").split(";") if s]
    if sources and all(p.is_file() for p in sources):
        for path in sources:
            _hash_file(digest, path)
        return
    for im in images:
        array = np.ascontiguousarray(im.array)
        digest.update(f"{array.dtype}{array.shape}{im.geometry.to_dict()}".encode())
        digest.update(array.tobytes())


def dataset_key(dataset: Any, settings: dict[str, Any]) -> str:
    """A hex key that changes when any case's content, the case ids or ``settings`` change."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))
    digest.update(_describe(dataset).encode("utf-8"))
    for index in range(len(dataset)):
        paths = _file_paths(dataset, index)
        if paths is not None and all(p.is_file() for p in paths):
            digest.update(f"case {index}".encode())
            for path in paths:
                _hash_file(digest, path)
        else:
            case = dataset[index]
            digest.update(f"case {index} {case.case_id}".encode())
            _hash_loaded_case(digest, case)
    return digest.hexdigest()[:32]
