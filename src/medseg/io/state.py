"""Save nested training state (optimiser, scheduler, RNGs, callbacks) as one safetensors file.

No pickle anywhere: tensors and arrays go into the safetensors body, everything else (numbers,
strings, lists, dicts with any hashable JSON-able keys, tuples) into a JSON skeleton stored in the
file's metadata. Files appear atomically (temp file + ``os.replace``), so a process killed during a
save never leaves a truncated checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from medseg.core.errors import MedsegError

_SKELETON_KEY = "medseg_state"


class CheckpointError(MedsegError, OSError):
    """A checkpoint file is missing, unreadable or not a medseg checkpoint."""


def _flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor],
             seen: dict[tuple[Any, ...], str] | None = None) -> Any:
    seen = {} if seen is None else seen
    if isinstance(obj, torch.Tensor):
        # the same storage reached twice (e.g. EMA weights also in the toolbox) is stored once
        ident = (obj.device, obj.data_ptr(), tuple(obj.shape), tuple(obj.stride()), obj.dtype)
        if obj.numel() and ident in seen:
            return {"__tensor__": seen[ident]}
        tensors[prefix] = obj.detach().cpu().contiguous()
        seen[ident] = prefix
        return {"__tensor__": prefix}
    if isinstance(obj, np.ndarray):
        tensors[prefix] = torch.from_numpy(np.ascontiguousarray(obj).copy())
        return {"__ndarray__": prefix}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        items = [[_flatten(k, f"{prefix}.k{i}", tensors, seen), _flatten(v, f"{prefix}.{i}", tensors, seen)]
                 for i, (k, v) in enumerate(obj.items())]
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, f"{prefix}.{i}", tensors, seen) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, f"{prefix}.{i}", tensors, seen) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot serialise {type(obj).__name__} at '{prefix}' in a checkpoint")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy()
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {_hashable(_unflatten(k, tensors)): _unflatten(v, tensors) for k, v in obj["__dict__"]}
    return obj


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def save_state(path: str | os.PathLike[str], state: dict[str, Any], metadata: dict[str, str] | None = None) -> Path:
    """Write ``state`` (any nesting of dicts/lists/tuples/tensors/arrays/scalars) atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "s", tensors)
    meta = dict(metadata or {})
    meta[_SKELETON_KEY] = json.dumps(skeleton)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=p.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a checkpoint (without reading its tensors)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file does not exist")
    try:
        with safe_open(str(p), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:
        raise CheckpointError(f"{p}: not a readable safetensors checkpoint ({exc})") from None


def load_state(path: str | os.PathLike[str]) -> tuple[Any, dict[str, str]]:
    """Read a file written by :func:`save_state`: returns ``(state, metadata)``."""
    meta = read_metadata(path)
    if _SKELETON_KEY not in meta:
        raise CheckpointError(f"{path}: not a medseg checkpoint (no '{_SKELETON_KEY}' metadata)")
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open has no __iter__
            tensors[key] = f.get_tensor(key)
    skeleton = json.loads(meta.pop(_SKELETON_KEY))
    return _unflatten(skeleton, tensors), meta
