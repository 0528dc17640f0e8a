"""A full disk: one line naming the file, exit 2, nothing half-written, the previous checkpoint still loads.

Two kinds of full disk: a file-size limit (``RLIMIT_FSIZE``: writes fail with EFBIG, "File too
large"; works for any user) and a real one (a small tmpfs filled up: ENOSPC; needs root, skipped
otherwise). ITK's NIfTI and PNG writers report nothing when the disk is full and leave a truncated
or empty file: medseg checks what they wrote before it moves the file into place.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_kit import file_size_limit, fill, run_cli, snapshot, temporaries

from medseg.io.state import load_state

TRAIN_MORE = ["--resume", "--fold", "0", "--epochs", "2", "--set", "training.workers=0"]


def _work_copy(trained: dict[str, Path], target: Path) -> tuple[Path, Path]:
    shutil.copytree(trained["work"], target)
    return target, target / trained["experiment"].relative_to(trained["work"])


def _assert_previous_checkpoint_intact(experiment: Path, before: dict[str, str]) -> None:
    checkpoints = experiment / "checkpoints"
    assert temporaries(experiment) == []
    assert snapshot(checkpoints) == before  # best and latest untouched, byte for byte
    state, _ = load_state(checkpoints / "latest.safetensors")  # and they load (hash verified)
    assert state["trainer"]["epoch"] == 1


def test_checkpoint_write_beyond_the_file_size_limit(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work, experiment = _work_copy(trained, tmp_path / "work")
    before = snapshot(experiment / "checkpoints")
    with file_size_limit(150_000):  # plots, previews and logs fit; a checkpoint (~200 kB) does not
        code, _, err = run_cli(["train", "-o", str(work), *TRAIN_MORE], capsys)
    assert code == 2
    assert re.fullmatch(
        rf"medseg: error: {re.escape(str(experiment))}/checkpoints/(best|latest)\.safetensors: "
        r"File too large\n",
        err,
    ), err
    _assert_previous_checkpoint_intact(experiment, before)


def _mount_over(folder: Path, size: int) -> None:
    """Put a tmpfs of ``size`` bytes over ``folder``, keeping its files (root only)."""
    keep = folder.with_name(folder.name + ".keep")
    shutil.copytree(folder, keep)
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
        ).returncode
        != 0
    ):
        shutil.rmtree(keep)
        pytest.skip("cannot mount a tmpfs here (not root); the file-size-limit test covers a full disk")
    for item in keep.iterdir():
        shutil.copy2(item, folder / item.name)
    shutil.rmtree(keep)


def test_checkpoint_write_on_a_full_disk(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work, experiment = _work_copy(trained, tmp_path / "work")
    checkpoints = experiment / "checkpoints"
    _mount_over(checkpoints, 1 << 20)
    try:
        fill(checkpoints, 50_000)
        before = snapshot(checkpoints)
        code, _, err = run_cli(["train", "-o", str(work), *TRAIN_MORE], capsys)
        assert code == 2
        assert re.fullmatch(
            rf"medseg: error: {re.escape(str(checkpoints))}/(best|latest)\.safetensors: "
            r"No space left on device\n",
            err,
        ), err
        _assert_previous_checkpoint_intact(experiment, before)
    finally:
        subprocess.run(["umount", "-l", str(checkpoints)], capture_output=True)


@pytest.mark.parametrize("verb", ["predict", "evaluate", "convert-msd"])
def test_results_on_a_full_disk(
    verb: str,
    trained: dict[str, Path],
    tmp_path: Path,
    small_disk: Callable[[int], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ITK's NIfTI writer truncates silently on a full disk; medseg refuses the file instead."""
    disk = small_disk(1 << 20)
    fill(disk, 2_000)
    images, refs = tmp_path / "images", tmp_path / "refs"
    images.mkdir()
    refs.mkdir()
    for p in sorted(trained["predictions"].iterdir()):
        shutil.copy(trained["data"] / "imagesTr" / p.name, images / p.name)
        shutil.copy(trained["data"] / "labelsTr" / p.name, refs / p.name)
    argv = {
        "predict": [
            "predict",
            str(images),
            "-o",
            str(disk / "out"),
            "-e",
            str(trained["experiment"]),
            "--no-tta",
        ],
        "evaluate": ["evaluate", str(trained["predictions"]), str(refs), "-o", str(disk / "m.csv")],
        "convert-msd": ["convert-msd", str(trained["data"]), str(disk / "raw")],
    }[verb]
    before = snapshot(disk)
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert re.fullmatch(rf"medseg: error: {re.escape(str(disk))}/\S+: No space left on device\n", err), err
    assert snapshot(disk) == before and temporaries(disk) == []  # nothing half-written stays
