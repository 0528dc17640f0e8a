"""A fast, pickle-free cache format: tensors + geometry + metadata in one safetensors file.

``fast_save`` writes named tensors (or an :class:`Image`) with :func:`safetensors.torch.save_file`;
the geometry and the string metadata travel as JSON in the file's string-to-string header metadata.
Loading never executes code from the file. Files appear atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medseg.core.atomic import atomic_output
from medseg.core.errors import ImageReadError, ImageWriteError, write_error
from medseg.io.geometry import Geometry
from medseg.io.image import Image

if TYPE_CHECKING:
    import torch

FORMAT = "medseg.fast/1"
_FORMAT_KEY = "medseg.format"
_GEOMETRY_KEY = "medseg.geometry"
_META_KEY = "medseg.meta"
IMAGE_KEY = "image"


@dataclass
class FastRecord:
    """What :func:`fast_load` returns: named tensors (or arrays), the geometry (if saved) and metadata."""

    tensors: dict[str, Any]
    geometry: Geometry | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def to_image(self, key: str = IMAGE_KEY) -> Image:
        """The entry ``key`` as an :class:`Image` (needs a saved geometry)."""
        if self.geometry is None:
            raise ValueError("this record has no geometry; save it with geometry=... to rebuild an Image")
        value = self.tensors[key]
        array = value if isinstance(value, np.ndarray) else value.numpy()
        return Image(array, self.geometry, dict(self.meta))


def fast_save(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor | np.ndarray] | Image,
    geometry: Geometry | None = None,
    meta: Mapping[str, str] | None = None,
) -> Path:
    """Write ``tensors`` (an :class:`Image` is stored under ``"image"``) with geometry and metadata.

    Returns the path written. Tensors keep their dtype and shape; they are saved from CPU memory.
    """
    p = Path(path)
    if isinstance(tensors, Image):
        meta = {**tensors.meta, **(meta or {})}
        geometry = geometry or tensors.geometry
        tensors = {IMAGE_KEY: tensors.array}
    header = {_FORMAT_KEY: FORMAT, _META_KEY: json.dumps(_string_meta(meta or {}, p), sort_keys=True)}
    if geometry is not None:
        header[_GEOMETRY_KEY] = json.dumps(geometry.to_dict())
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        with atomic_output(p) as tmp:
            save_file(_as_tensors(tensors, p), str(tmp), metadata=header)
    except ImageWriteError:
        raise
    except SafetensorError as exc:
        error = write_error(exc, p)
        detail = error.strerror if isinstance(error, OSError) else str(exc).splitlines()[0][:200]
        raise ImageWriteError(f"{p}: cannot be written ({detail})") from None
    except (OSError, RuntimeError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0][:200]
        raise ImageWriteError(f"{p}: cannot be written ({detail})") from None
    return p


def fast_load(
    path: str | os.PathLike[str], *, keys: Sequence[str] | None = None, as_numpy: bool = False
) -> FastRecord:
    """Read a file written by :func:`fast_save` (only ``keys`` when given; NumPy arrays if ``as_numpy``)."""
    from safetensors import SafetensorError, safe_open

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: file does not exist")
    try:
        with safe_open(str(p), framework="numpy" if as_numpy else "pt") as handle:
            header = handle.metadata() or {}
            names = list(handle.keys()) if keys is None else list(keys)
            missing = sorted(set(names) - set(handle.keys()))
            if missing:
                raise ImageReadError(
                    f"{p}: no tensor named {', '.join(missing)} (has {', '.join(handle.keys())})"
                )
            tensors = {name: handle.get_tensor(name) for name in names}
    except (SafetensorError, OSError, ValueError) as exc:
        if isinstance(exc, ImageReadError):
            raise
        raise ImageReadError(
            f"{p}: not a readable safetensors file ({str(exc).splitlines()[0][:200]})"
        ) from None
    return FastRecord(tensors, _geometry_from(header, p), _meta_from(header, p))


def _as_tensors(tensors: Mapping[str, torch.Tensor | np.ndarray], path: Path) -> dict[str, torch.Tensor]:
    import torch

    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise ImageWriteError(f"{path}: tensor names must be strings, got {name!r}")
        if isinstance(value, np.ndarray):
            tensor = torch.from_numpy(np.ascontiguousarray(value))
        elif isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
        else:
            raise ImageWriteError(
                f"{path}: entry {name!r} is a {type(value).__name__}, not a tensor or array"
            )
        storage = tensor.untyped_storage().data_ptr()
        if storage in seen and tensor.numel():  # safetensors refuses entries sharing memory
            tensor = tensor.clone()
        seen.add(tensor.untyped_storage().data_ptr())
        out[name] = tensor
    return out


def _string_meta(meta: Mapping[str, str], path: Path) -> dict[str, str]:
    bad = [k for k, v in meta.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise ImageWriteError(f"{path}: metadata must map strings to strings (bad entries: {bad[:3]})")
    return dict(meta)


def _geometry_from(header: Mapping[str, str], path: Path) -> Geometry | None:
    text = header.get(_GEOMETRY_KEY)
    if text is None:
        return None
    try:
        return Geometry.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise ImageReadError(f"{path}: invalid geometry in the file's metadata ({exc})") from None


def _meta_from(header: Mapping[str, str], path: Path) -> dict[str, str]:
    if _META_KEY not in header:
        return {k: v for k, v in header.items() if not k.startswith("medseg.")}
    try:
        meta = json.loads(header[_META_KEY])
    except ValueError as exc:
        raise ImageReadError(f"{path}: invalid metadata JSON ({exc})") from None
    return {str(k): str(v) for k, v in meta.items()}
