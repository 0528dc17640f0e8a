"""The preprocessed cache reader refuses what it cannot memory-map safely (and never unpickles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medseg.core.errors import DatasetError
from medseg.data.preprocessing.store import open_npy


def test_numeric_arrays_map_read_only(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(12, dtype=np.int16).reshape(3, 4))
    array = open_npy(path)
    np.testing.assert_array_equal(array, np.arange(12).reshape(3, 4))
    assert not array.flags.writeable
    empty = tmp_path / "e.npy"
    np.save(empty, np.zeros((0, 3), dtype=np.int64))
    assert open_npy(empty).shape == (0, 3)


def test_object_dtype_is_refused_without_unpickling(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pickle payload ran",))

    path = tmp_path / "image.npy"
    np.save(path, np.array([Boom(), 1], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError) as info:
        open_npy(path)
    assert str(info.value) == (
        f"{path}: cache array has dtype object (object/structured arrays are refused: they "
        "need pickle); delete the preprocessed folder to rebuild it"
    )


def test_structured_dtype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.npy"
    np.save(path, np.zeros(3, dtype=[("a", "f4"), ("b", "i2")]))
    with pytest.raises(DatasetError, match="cache array has dtype"):
        open_npy(path)


def test_garbage_and_truncated_files_are_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not an npy file at all")
    with pytest.raises(DatasetError, match=r"junk\.npy: not a readable \.npy cache file"):
        open_npy(junk)
    short = tmp_path / "short.npy"
    np.save(short, np.ones((10, 10), dtype=np.float32))
    short.write_bytes(short.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"short\.npy: truncated \.npy cache file \(\d+ of \d+ bytes\)"):
        open_npy(short)
