"""Save nested training state (optimiser, scheduler, RNGs, callbacks) as one safetensors file.

No pickle anywhere: tensors and arrays go into the safetensors body, everything else (numbers,
strings, lists, dicts with any hashable JSON-able keys, tuples) into a JSON skeleton stored in the
file's metadata. Files appear atomically (temp file + ``os.replace``), so a process killed during a
save never leaves a truncated checkpoint behind.

Integrity: the metadata holds a SHA-256 of the tensors (``medseg_sha256``: every tensor's name,
dtype, shape and bytes, in sorted name order; tensors hashed in parallel threads) and one of the
other metadata (``medseg_meta_sha256``). :func:`load_state` verifies both, :func:`read_metadata`
the second, so a file with flipped bytes is refused with one line instead of predicting garbage.
Files written before the hashes existed load unverified. Cost on a 100 MB checkpoint: see
``tests/io/test_state.py::test_hash_cost_on_a_100_mb_checkpoint`` (a few tenths of a second).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from medseg.core.atomic import make_readable, naming
from medseg.core.errors import MedsegError, write_error
from medseg.core.faults import kill_point

_SKELETON_KEY = "medseg_state"
TENSOR_HASH_KEY = "medseg_sha256"
META_HASH_KEY = "medseg_meta_sha256"
#: tensors larger than this are hashed in worker threads (hashlib releases the GIL)
_PARALLEL_BYTES = 1 << 22


class CheckpointError(MedsegError, OSError):
    """A checkpoint file is missing, unreadable or not a medseg checkpoint."""


def _flatten(
    obj: Any, prefix: str, tensors: dict[str, torch.Tensor], seen: dict[tuple[Any, ...], str] | None = None
) -> Any:
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
        items = [
            [_flatten(k, f"{prefix}.k{i}", tensors, seen), _flatten(v, f"{prefix}.{i}", tensors, seen)]
            for i, (k, v) in enumerate(obj.items())
        ]
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


def _tensor_bytes(tensor: torch.Tensor) -> Any:
    """The bytes of a tensor without a copy (a uint8 view of its contiguous storage)."""
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy()


def _one_digest(name: str, tensor: torch.Tensor) -> str:
    digest = hashlib.sha256(f"{name}\0{tensor.dtype!s}\0{tuple(tensor.shape)}\0".encode())
    if tensor.numel():
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()


def tensor_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in sorted name order."""
    names = sorted(tensors)
    big = sum(t.numel() * t.element_size() for t in tensors.values()) > _PARALLEL_BYTES
    if big and len(names) > 1:
        with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
            parts = list(pool.map(lambda n: _one_digest(n, tensors[n]), names))
    else:
        parts = [_one_digest(n, tensors[n]) for n in names]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def metadata_digest(metadata: Mapping[str, str]) -> str:
    """SHA-256 of the string metadata (every key but the two hashes), in sorted key order."""
    items = sorted((k, v) for k, v in metadata.items() if k not in (TENSOR_HASH_KEY, META_HASH_KEY))
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def save_state(
    path: str | os.PathLike[str], state: dict[str, Any], metadata: dict[str, str] | None = None
) -> Path:
    """Write ``state`` (any nesting of dicts/lists/tuples/tensors/arrays/scalars) atomically, with hashes."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "s", tensors)
    meta = dict(metadata or {})
    meta[_SKELETON_KEY] = json.dumps(skeleton)
    meta[TENSOR_HASH_KEY] = tensor_digest(tensors)
    meta[META_HASH_KEY] = metadata_digest(meta)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=p.parent)
    except OSError as exc:
        raise naming(exc, p) from None
    os.close(fd)
    try:
        kill_point("state_begin")
        save_file(tensors, tmp, metadata=meta)
        make_readable(tmp)
        kill_point("state_write")
        os.replace(tmp, p)
    except OSError as exc:
        raise naming(exc, p) from None
    except Exception as exc:  # safetensors reports I/O errors as SafetensorError
        raise write_error(exc, p) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def _unreadable(path: Path, exc: BaseException) -> CheckpointError:
    detail = " ".join(str(exc).split())[:200]
    return CheckpointError(f"{path}: not a readable safetensors checkpoint ({detail})")


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a checkpoint (without reading its tensors), verified against its hash;
    the two hash keys themselves are left out."""
    meta = _raw_metadata(Path(path))
    meta.pop(TENSOR_HASH_KEY, None)
    meta.pop(META_HASH_KEY, None)
    return meta


def _raw_metadata(path: Path) -> dict[str, str]:
    """Every metadata entry of a checkpoint, the hash keys included; the metadata hash is verified."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file does not exist")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except Exception as exc:
        raise _unreadable(p, exc) from None
    if META_HASH_KEY in meta and meta[META_HASH_KEY] != metadata_digest(meta):
        raise CheckpointError(f"checkpoint {p} is corrupt: metadata does not match its hash")
    return meta


def load_state(path: str | os.PathLike[str], *, verify: bool = True) -> tuple[Any, dict[str, str]]:
    """Read a file written by :func:`save_state`: returns ``(state, metadata)`` (the hash keys removed).

    With ``verify`` (the default) the tensors are checked against their hash: a mismatch raises
    :class:`CheckpointError` naming the file. Files without a hash (older medseg) load unverified.
    """
    p = Path(path)
    meta = _raw_metadata(p)
    if _SKELETON_KEY not in meta:
        raise CheckpointError(f"{p}: not a medseg checkpoint (no '{_SKELETON_KEY}' metadata)")
    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(p), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                tensors[key] = f.get_tensor(key)
    except Exception as exc:
        raise _unreadable(p, exc) from None
    expected = meta.pop(TENSOR_HASH_KEY, None)
    meta.pop(META_HASH_KEY, None)
    if verify and expected is not None and tensor_digest(tensors) != expected:
        raise CheckpointError(f"checkpoint {p} is corrupt: tensor data does not match its hash")
    try:
        skeleton = json.loads(meta.pop(_SKELETON_KEY))
        return _unflatten(skeleton, tensors), meta
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"checkpoint {p} is corrupt: its state description is invalid ({exc})"
        ) from None
