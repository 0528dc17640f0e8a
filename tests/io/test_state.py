"""Checkpoint integrity: a content hash of the tensors (and of the metadata), verified on load."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from medseg.io.state import (
    META_HASH_KEY,
    TENSOR_HASH_KEY,
    CheckpointError,
    load_state,
    read_metadata,
    save_state,
    tensor_digest,
)


def _state() -> dict[str, object]:
    g = torch.Generator().manual_seed(0)
    return {
        "weights": {
            "conv.weight": torch.randn(8, 4, 3, 3, 3, generator=g),
            "conv.bias": torch.zeros(8),
            "steps": torch.tensor(7),
        },
        "extra": np.arange(10, dtype=np.int16),
        "epoch": 3,
        "name": "run",
    }


def _data_start(path: Path) -> int:
    return 8 + struct.unpack("<Q", path.read_bytes()[:8])[0]


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_round_trip_keeps_every_value_and_hides_the_hash_keys(tmp_path: Path) -> None:
    path = save_state(tmp_path / "a.safetensors", _state(), {"kind": "latest"})
    state, meta = load_state(path)
    assert torch.equal(state["weights"]["conv.weight"], _state()["weights"]["conv.weight"])  # type: ignore[index]
    np.testing.assert_array_equal(state["extra"], np.arange(10, dtype=np.int16))
    assert state["epoch"] == 3 and meta == {"kind": "latest"}
    assert read_metadata(path) == {"kind": "latest", "medseg_state": read_metadata(path)["medseg_state"]}
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        raw = handle.metadata()
    assert len(raw[TENSOR_HASH_KEY]) == 64 and len(raw[META_HASH_KEY]) == 64


@pytest.mark.parametrize("where", [0, 1000, -1])
def test_a_flipped_byte_in_the_tensor_data_is_refused(tmp_path: Path, where: int) -> None:
    path = save_state(tmp_path / "ckpt.safetensors", _state())
    start, end = _data_start(path), path.stat().st_size
    _flip(path, start + where if where >= 0 else end + where)
    with pytest.raises(CheckpointError) as info:
        load_state(path)
    assert str(info.value) == f"checkpoint {path} is corrupt: tensor data does not match its hash"


def test_a_flipped_byte_in_the_metadata_is_refused(tmp_path: Path) -> None:
    path = save_state(
        tmp_path / "ckpt.safetensors", _state(), {"plan": json.dumps({"patch_size": [16, 16, 16]})}
    )
    data = path.read_bytes()
    offset = data.index(b"patch_size") + 16  # inside the plan's JSON string (a digit of 16)
    _flip(path, offset)
    with pytest.raises(CheckpointError, match=r"is corrupt: metadata does not match its hash$"):
        read_metadata(path)


def test_the_digest_depends_on_names_shapes_dtypes_and_bytes() -> None:
    base = {"a": torch.zeros(4), "b": torch.ones(2, 2)}
    digest = tensor_digest(base)
    assert (
        tensor_digest({"b": torch.ones(2, 2), "a": torch.zeros(4)}) == digest
    )  # order of insertion: no effect
    for changed in (
        {"a": torch.zeros(2, 2), "b": torch.ones(2, 2)},
        {"a": torch.zeros(4, dtype=torch.float64), "b": torch.ones(2, 2)},
        {"c": torch.zeros(4), "b": torch.ones(2, 2)},
        {"a": torch.tensor([0.0, 0.0, 0.0, 1e-30]), "b": torch.ones(2, 2)},
    ):
        assert tensor_digest(changed) != digest


def test_a_checkpoint_without_a_hash_still_loads(tmp_path: Path) -> None:
    """Files written before the hash existed (only the skeleton in the metadata) load unverified."""
    path = tmp_path / "old.safetensors"
    skeleton = {"__dict__": [["w", {"__tensor__": "s.0"}], ["epoch", 2]]}
    save_file(
        {"s.0": torch.arange(5.0)}, str(path), metadata={"medseg_state": json.dumps(skeleton), "kind": "best"}
    )
    state, meta = load_state(path)
    assert torch.equal(state["w"], torch.arange(5.0)) and state["epoch"] == 2 and meta == {"kind": "best"}


def test_a_truncated_or_garbage_file_is_one_line(tmp_path: Path) -> None:
    path = save_state(tmp_path / "ckpt.safetensors", _state())
    path.write_bytes(path.read_bytes()[: _data_start(path) + 10])
    with pytest.raises(CheckpointError, match=r"not a readable safetensors checkpoint") as info:
        load_state(path)
    assert "\n" not in str(info.value)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match=r"junk\.safetensors: not a readable safetensors checkpoint"):
        load_state(junk)


def test_hash_cost_on_a_100_mb_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hashing 100 MB of tensors costs a fraction of a second (measured and printed; bound is generous)."""
    state = {"weights": {f"w{i}": torch.randn(2_621_440) for i in range(10)}}  # 10 x 10 MiB float32
    start = time.perf_counter()
    tensor_digest(state["weights"])
    hashing = time.perf_counter() - start
    path = save_state(tmp_path / "big.safetensors", state)
    start = time.perf_counter()
    plain, _ = load_state(path, verify=False)
    total = sum(
        float(t.sum()) for t in plain["weights"].values()
    )  # touch every byte, as loading weights does
    unverified = time.perf_counter() - start
    start = time.perf_counter()
    checked, _ = load_state(path)
    total += sum(float(t.sum()) for t in checked["weights"].values())
    verified = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\n100 MiB checkpoint: hash {hashing:.3f} s; load + read {unverified:.3f} s unverified, "
            f"{verified:.3f} s verified"
        )
    assert path.stat().st_size > 100 * 2**20
    assert hashing < 2.0 and verified < 3.0
