"""The on-disk preprocessed cache: one folder per case of memory-mappable ``.npy`` files.

Layout of ``out_dir``::

    plan.json                      the Plan the cache was made with
    cases/<case_id>/image.npy      float32 (C, *spatial), read as a read-only memory map
    cases/<case_id>/label.npy      integer (1, *spatial), absent for unlabelled cases
    cases/<case_id>/locations_<k>.npy  up to 10k voxel indices (n, ndim) of class k (k > 0)
    cases/<case_id>/properties.json    everything needed to undo the preprocessing
    cases/<case_id>/.complete      written last: a case folder without it is redone

Every file is written to a temporary name and moved into place with ``os.replace``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset
from typing_extensions import override

from medseg.config.plan import Plan
from medseg.core.atomic import atomic_open, write_text_atomic
from medseg.core.errors import DatasetError

PLAN_FILE = "plan.json"
CASES_DIR = "cases"
MARKER = ".complete"


def case_dir(out_dir: Path, case_id: str) -> Path:
    """The folder of one case inside a cache (the id must be usable as a folder name)."""
    if not case_id or case_id in (".", "..") or "/" in case_id or "\\" in case_id:
        raise DatasetError(f"{out_dir}: case id {case_id!r} cannot name a cache folder")
    return out_dir / CASES_DIR / case_id


def save_array(target: Path, array: np.ndarray) -> None:
    """Write one ``.npy`` file atomically."""
    with atomic_open(target, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)


def save_json(target: Path, data: dict[str, Any]) -> None:
    """Write one JSON file atomically."""
    write_text_atomic(target, json.dumps(data, indent=1))


def write_case(
    out_dir: Path,
    case_id: str,
    image: np.ndarray,
    label: np.ndarray | None,
    properties: dict[str, Any],
    locations: dict[int, np.ndarray],
) -> None:
    """Write one preprocessed case; the completion marker goes last."""
    folder = case_dir(out_dir, case_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)
    save_array(folder / "image.npy", image)
    if label is not None:
        save_array(folder / "label.npy", label)
    for value, points in locations.items():
        save_array(folder / f"locations_{value}.npy", points)
    save_json(folder / "properties.json", properties)
    write_text_atomic(folder / MARKER, "ok\n")


@functools.lru_cache(maxsize=4096)
def _npy_header(path: str) -> tuple[tuple[int, ...], np.dtype[Any], bool, int]:
    """Shape, dtype, Fortran order and data offset of a ``.npy`` file (parsed once per process).

    Only plain numeric arrays are accepted: an object or structured dtype (which ``np.load`` would
    unpickle, and a memory map would read as raw pointers, crashing the process) is refused, as is a
    header that promises more bytes than the file holds. Pickle is never enabled.
    """
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            offset = handle.tell()
    except (OSError, ValueError, SyntaxError, TypeError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise DatasetError(
            f"{path}: not a readable .npy cache file ({detail}); delete the preprocessed folder to rebuild it"
        ) from None
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise DatasetError(
            f"{path}: cache array has dtype {dtype} (object/structured arrays are refused: they "
            "need pickle); delete the preprocessed folder to rebuild it"
        )
    needed = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = os.path.getsize(path)
    if size < needed:
        raise DatasetError(
            f"{path}: truncated .npy cache file ({size} of {needed} bytes); delete the "
            "preprocessed folder to rebuild it"
        )
    return tuple(shape), dtype, bool(fortran), offset


def open_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """A read-only memory map of a ``.npy`` file, like ``np.load(mmap_mode="r")`` but twice as fast
    on repeated opens (the header is parsed once); a non-numeric or broken file raises
    :class:`DatasetError` naming it."""
    shape, dtype, fortran, offset = _npy_header(str(path))
    if int(np.prod(shape, dtype=np.int64)) == 0:  # an empty file region cannot be memory-mapped
        empty = np.zeros(shape, dtype=dtype)
        empty.flags.writeable = False
        return empty
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def is_complete(out_dir: Path, case_id: str) -> bool:
    """True when the case was written completely (its marker exists)."""
    return (case_dir(out_dir, case_id) / MARKER).is_file()


@dataclass
class PreprocessedCase:
    """One preprocessed case: memory-mapped arrays plus the properties to invert preprocessing."""

    case_id: str
    image: np.ndarray
    label: np.ndarray | None
    properties: dict[str, Any]


class PreprocessedDataset(Dataset[PreprocessedCase]):
    """The cases of a preprocessed cache; ``dataset[i]`` memory-maps case ``i`` (nothing is cached).

    ``case_ids`` selects and orders cases (e.g. one fold's training cases); by default every
    complete case, sorted by id.
    """

    def __init__(self, out_dir: str | os.PathLike[str], case_ids: Sequence[str] | None = None) -> None:
        self.root = Path(out_dir)
        plan_path = self.root / PLAN_FILE
        if not plan_path.is_file():
            raise DatasetError(f"{self.root}: not a preprocessed folder (no {PLAN_FILE})")
        self.plan = Plan.load(plan_path)
        if case_ids is None:
            found = (p.name for p in (self.root / CASES_DIR).glob("*") if (p / MARKER).is_file())
            case_ids = sorted(found)
        missing = [c for c in case_ids if not is_complete(self.root, c)]
        if missing:
            raise DatasetError(
                f"{self.root}: case {missing[0]!r} is missing or incomplete ({len(missing)} in all)"
            )
        self.case_ids = list(case_ids)
        self._properties = [self._read_properties(c) for c in self.case_ids]

    def _read_properties(self, case_id: str) -> dict[str, Any]:
        path = case_dir(self.root, case_id) / "properties.json"
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{path}: cannot read case properties ({exc})") from exc

    def __len__(self) -> int:
        """Number of cases."""
        return len(self.case_ids)

    def properties(self, index: int) -> dict[str, Any]:
        """The properties of case ``index`` (kept in memory; they are small)."""
        return self._properties[index]

    def image_path(self, index: int) -> str:
        """Path of the image ``.npy`` of case ``index``."""
        return str(case_dir(self.root, self.case_ids[index]) / "image.npy")

    def label_path(self, index: int) -> str | None:
        """Path of the label ``.npy`` of case ``index``, or ``None`` for an unlabelled case."""
        path = case_dir(self.root, self.case_ids[index]) / "label.npy"
        return str(path) if path.is_file() else None

    def locations_path(self, index: int, value: int) -> str | None:
        """Path of the stored voxel indices of class ``value`` in case ``index``, or ``None``."""
        path = case_dir(self.root, self.case_ids[index]) / f"locations_{value}.npy"
        return str(path) if path.is_file() else None

    def image(self, index: int) -> np.ndarray:
        """The image of case ``index`` as a read-only memory map ``(C, *spatial)``."""
        return open_npy(self.image_path(index))

    def label(self, index: int) -> np.ndarray | None:
        """The label of case ``index`` as a read-only memory map ``(1, *spatial)``, or ``None``."""
        path = self.label_path(index)
        return open_npy(path) if path is not None else None

    def class_locations(self, index: int, value: int) -> np.ndarray:
        """Stored voxel indices ``(n, ndim)`` of class ``value`` in case ``index`` (may be empty)."""
        path = self.locations_path(index, value)
        if path is None:
            return np.zeros((0, len(self._properties[index]["shape_after_resampling"])), dtype=np.int64)
        return open_npy(path)

    @override
    def __getitem__(self, index: int) -> PreprocessedCase:
        """The whole case ``index`` (memory-mapped arrays), e.g. for validation."""
        return PreprocessedCase(
            self.case_ids[index], self.image(index), self.label(index), self._properties[index]
        )

    @override
    def __repr__(self) -> str:
        return f"PreprocessedDataset({str(self.root)!r}, {len(self)} cases)"
