"""Fixtures of the reliability suite: the tiny dataset, one trained work folder, hostile folders.

The helpers live in ``reliability_kit.py`` beside this file (put on ``sys.path`` here, since the
tests are not a package).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reliability_kit import TINY, make_tiny_msd, mount

from medseg.cli.main import main


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 6-case cropped MSD folder (read-only by convention: rows that change files copy it)."""
    return make_tiny_msd(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> dict[str, Path]:
    """A work folder after ``run-all`` (fold 0, 1 epoch), and its experiment folder and checkpoint."""
    work = tmp_path_factory.mktemp("trained") / "work"
    code = main(
        [
            "run-all",
            str(tiny_data),
            "-o",
            str(work),
            "--folds",
            "0",
            "--epochs",
            "1",
            "--workers",
            "0",
            "--set",
            "training.workers=0",
            "--no-tta",
            *TINY,
        ]
    )
    assert code == 0
    experiment = next((work / "experiments" / "SegmentationTrainer_fold0").iterdir())
    return {
        "work": work,
        "experiment": experiment,
        "checkpoint": experiment / "checkpoints" / "latest.safetensors",
        "predictions": work / "predictions" / "fold_0",
        "data": tiny_data,
    }


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """An existing, empty folder nobody may write into (chmod for users; a read-only tmpfs for root)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if not mount(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)]):
        pytest.skip("running as root without permission to mount a read-only tmpfs")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``make(size)``: a new folder that is a tmpfs of ``size`` bytes (root only; else the test is skipped)."""
    mounts: list[Path] = []

    def make(size: int) -> Path:
        folder = tmp_path / f"disk{len(mounts)}"
        folder.mkdir()
        if not mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]):
            pytest.skip(
                "cannot mount a small tmpfs here (not root); the EFBIG rows cover a full disk portably"
            )
        mounts.append(folder)
        return folder

    yield make
    for folder in mounts:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
