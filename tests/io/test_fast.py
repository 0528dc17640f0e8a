"""fast_save / fast_load: dtype, shape, geometry and metadata round trips; no pickle; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from medseg.core.errors import ImageReadError, ImageWriteError
from medseg.io import Geometry, Image
from medseg.io.fast import fast_load, fast_save

DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.int16, torch.uint8, torch.int64, torch.bool)


def test_tensor_round_trip_keeps_dtypes_and_values(tmp_path: Path) -> None:
    rng = torch.Generator().manual_seed(0)
    tensors = {str(d): (torch.randn(2, 3, 4, generator=rng) * 50).to(d) for d in DTYPES}
    geometry = Geometry((0.7, 0.9, 3.1), (1.0, 2.0, 3.0), tuple(np.eye(3)[[1, 0, 2]].ravel()))
    meta = {"case_id": "hippocampus_007", "note": 'ünïcode, "quotes" and \n newlines'}
    fast_save(tmp_path / "c.safetensors", tensors, geometry=geometry, meta=meta)
    record = fast_load(tmp_path / "c.safetensors")
    assert record.tensors.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert record.tensors[name].dtype == tensor.dtype
        assert torch.equal(record.tensors[name], tensor)
    assert record.geometry == geometry
    assert record.meta == meta
    # An independent reader sees the geometry as JSON in the header metadata.
    with safe_open(str(tmp_path / "c.safetensors"), framework="pt") as handle:
        assert json.loads(handle.metadata()["medseg.geometry"])["spacing"] == [0.7, 0.9, 3.1]


def test_image_round_trip_and_numpy_loading(tmp_path: Path) -> None:
    array = np.random.default_rng(0).integers(0, 3, (1, 4, 5, 6)).astype(np.uint16)
    image = Image(array, Geometry.identity(3, (0.5, 0.5, 2.0)), {"source": "x.nii.gz"})
    fast_save(tmp_path / "i.safetensors", image, meta={"extra": "1"})
    record = fast_load(tmp_path / "i.safetensors", as_numpy=True)
    assert isinstance(record.tensors["image"], np.ndarray)
    back = record.to_image()
    assert back.array.dtype == np.uint16 and np.array_equal(back.array, array)
    assert back.geometry == image.geometry
    assert back.meta == {"source": "x.nii.gz", "extra": "1"}
    assert torch.equal(fast_load(tmp_path / "i.safetensors").tensors["image"], torch.from_numpy(array))


def test_selected_keys_shared_memory_and_no_geometry(tmp_path: Path) -> None:
    base = torch.arange(12.0)
    fast_save(tmp_path / "s.safetensors", {"a": base, "view": base[:6], "b": np.ones(3)})
    record = fast_load(tmp_path / "s.safetensors", keys=["view"])
    assert list(record.tensors) == ["view"] and torch.equal(record.tensors["view"], base[:6])
    assert record.geometry is None and record.meta == {}
    with pytest.raises(ValueError, match="no geometry"):
        record.to_image("view")
    with pytest.raises(ImageReadError, match=r"s\.safetensors: no tensor named nope \(has "):
        fast_load(tmp_path / "s.safetensors", keys=["nope"])


def test_write_is_atomic_and_bad_input_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match=r"m\.safetensors: metadata must map strings to strings"):
        fast_save(tmp_path / "m.safetensors", {"a": torch.zeros(2)}, meta={"n": 3})  # type: ignore[dict-item]
    with pytest.raises(ImageWriteError, match=r"l\.safetensors: entry 'a' is a list"):
        fast_save(tmp_path / "l.safetensors", {"a": [1, 2]})  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"gone\.safetensors: file does not exist$"):
        fast_load(tmp_path / "gone.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(np.random.default_rng(0).bytes(64))
    with pytest.raises(ImageReadError, match=r"junk\.safetensors: not a readable safetensors file"):
        fast_load(tmp_path / "junk.safetensors")
    fast_save(tmp_path / "t.safetensors", {"a": torch.arange(1000)})
    data = (tmp_path / "t.safetensors").read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"t\.safetensors: not a readable safetensors file") as info:
        fast_load(tmp_path / "t.safetensors")
    assert "\n" not in str(info.value)
