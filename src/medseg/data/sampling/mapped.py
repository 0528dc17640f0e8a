"""A per-process cache of open read-only memory maps whose pages are handed back after every read.

Opening a ``.npy`` memory map costs far more than cutting a small patch out of it (path resolution,
``open``, ``mmap``, the ndarray wrapper: about 40 % of a hippocampus patch in bench/data). The
sampler therefore keeps recently used maps open, least recently used first out, at most
``max_open`` of them (see :func:`default_max_open`). To keep the loader's memory constant in the number of cases anyway, the pages
a read touched are released with ``madvise(MADV_DONTNEED)`` right after the patch is copied out:
they stay in the kernel's page cache (shared, reclaimable) but leave the process's resident set,
exactly as if the map had been closed (bench/data/bench_loader.py checks the 20 vs 208 case RSS).

The cache is per process: it is dropped when the owner is pickled (spawned workers start empty) and
a forked worker only inherits maps that were open in the parent (read-only, shared, harmless).
"""

from __future__ import annotations

import mmap
from collections import OrderedDict

import numpy as np

from medseg.data.preprocessing.store import open_npy

_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


def default_max_open() -> int:
    """Maps kept open per process: each holds a file descriptor, so a quarter of the soft limit on
    open files, between 64 and 2048 (a hippocampus fold needs ~4 per case: image, label, 2 classes)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        return 256
    if soft == resource.RLIM_INFINITY:
        return 2048
    return max(64, min(2048, soft // 4))


class MappedArrays:
    """``get(path)`` returns an open read-only memory map of a ``.npy`` file, reusing recent ones."""

    def __init__(self, max_open: int | None = None) -> None:
        max_open = default_max_open() if max_open is None else max_open
        if max_open < 1:
            raise ValueError(f"max_open must be at least 1, got {max_open}")
        self.max_open = int(max_open)
        self._maps: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        """Number of maps open now."""
        return len(self._maps)

    def get(self, path: str) -> np.ndarray:
        """The memory map of ``path`` (opened on first use, then kept until evicted)."""
        array = self._maps.get(path)
        if array is not None:
            self._maps.move_to_end(path)
            return array
        array = open_npy(path)
        self._maps[path] = array
        if len(self._maps) > self.max_open:
            self._maps.popitem(last=False)
        return array

    @staticmethod
    def release(array: np.ndarray) -> None:
        """Drop the pages of ``array``'s map from this process's resident set (the data stay cached)."""
        handle = getattr(array, "_mmap", None)
        if _DONTNEED is not None and isinstance(handle, mmap.mmap):
            handle.madvise(_DONTNEED)

    def clear(self) -> None:
        """Close every map (they are unmapped once no array refers to them)."""
        self._maps.clear()

    def __getstate__(self) -> dict[str, int]:
        """Pickle only the size: open maps never travel to another process."""
        return {"max_open": self.max_open}

    def __setstate__(self, state: dict[str, int]) -> None:
        """Restore an empty cache of the pickled size."""
        self.__init__(state["max_open"])  # type: ignore[misc]
