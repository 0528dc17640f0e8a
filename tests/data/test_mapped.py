"""The sampler's cache of open memory maps: reuse, LRU eviction, page release, pickling."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from medseg.data.sampling.mapped import MappedArrays


def _npy(tmp_path: Path, name: str, array: np.ndarray) -> str:
    path = tmp_path / name
    np.save(path, array)
    return str(path)


def test_maps_are_reused_and_the_least_recently_used_is_evicted(tmp_path: Path) -> None:
    paths = [_npy(tmp_path, f"a{i}.npy", np.full((2, 3), i, np.int16)) for i in range(3)]
    maps = MappedArrays(max_open=2)
    first = maps.get(paths[0])
    assert maps.get(paths[0]) is first and np.array_equal(first, np.zeros((2, 3)))
    maps.get(paths[1])
    maps.get(paths[0])  # now paths[1] is the least recently used
    maps.get(paths[2])
    assert len(maps) == 2
    assert maps.get(paths[0]) is first  # kept
    assert np.array_equal(maps.get(paths[1]), np.ones((2, 3)))  # reopened after eviction
    with pytest.raises(ValueError, match="max_open must be at least 1"):
        MappedArrays(0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmRSS from /proc")
def test_release_returns_the_pages_but_keeps_the_data(tmp_path: Path) -> None:
    data = np.arange(16 * 1024 * 1024 // 4, dtype=np.float32)  # 16 MiB
    path = _npy(tmp_path, "big.npy", data)
    maps = MappedArrays()
    array = maps.get(path)

    def rss_kib() -> int:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))

    before = rss_kib()
    assert float(array.sum(dtype=np.float64)) == float(data.sum(dtype=np.float64))  # touches every page
    touched = rss_kib()
    maps.release(array)
    released = rss_kib()
    assert touched - before > 12 * 1024  # the 16 MiB became resident
    assert touched - released > 12 * 1024  # and left the resident set again
    assert np.array_equal(array[-5:], data[-5:])  # still readable afterwards (from the page cache)
    maps.release(np.zeros(3))  # not a map: nothing to do


def test_pickling_drops_the_open_maps(tmp_path: Path) -> None:
    maps = MappedArrays(max_open=7)
    maps.get(_npy(tmp_path, "a.npy", np.zeros(4)))
    clone = pickle.loads(pickle.dumps(maps))
    assert len(clone) == 0 and clone.max_open == 7 and len(maps) == 1
