"""medseg.core.atomic: a file appears complete or not at all; a failed write keeps the old file."""

from __future__ import annotations

from pathlib import Path

import pytest

from medseg.core.atomic import atomic_open, write_bytes_atomic, write_text_atomic


def test_writes_create_parents_and_leave_no_temporary_files(tmp_path: Path) -> None:
    text_file = write_text_atomic(tmp_path / "a" / "b.json", '{"x": "—"}')
    data_file = write_bytes_atomic(tmp_path / "a" / "c.bin", b"\x00\x01")
    assert text_file.read_text(encoding="utf-8") == '{"x": "—"}'
    assert data_file.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.json", "c.bin"]


def test_a_failing_writer_keeps_the_old_file_and_cleans_up(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "plan.json", "old")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(target, "w") as handle:
        handle.write("half of the new conte")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_only_write_modes_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be"), atomic_open(tmp_path / "x", "a"):
        pass
