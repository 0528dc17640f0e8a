"""Helpers of the reliability suite (imported by its conftest and test modules): a tiny dataset,
folder snapshots, running the ``medseg`` command in or out of this process, hostile environments.

The tiny dataset is 6 hippocampus cases of the embedded sample cropped to 20 x 24 x 20 voxels around
their label, so a whole validation case is 8 sliding windows of the 16^3 patch and a training run
through the real ``medseg`` command takes a few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medseg.cli.main import main
from medseg.data.sample import sample_path

ROOT = Path(__file__).resolve().parents[2]
CROP = (20, 24, 20)  # z, y, x
#: the flags of every tiny training run (2 folds, 16^3 patches, 4 base features, 2 steps per epoch, CPU)
TINY = [
    "--n-folds",
    "2",
    "--features-base",
    "4",
    "--patch-size",
    "16",
    "16",
    "16",
    "--batch-size",
    "2",
    "--steps-per-epoch",
    "2",
    "--device",
    "cpu",
]

Snapshot = dict[str, str]


def crop_case(image: sitk.Image, label: sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """Both images cut to ``CROP`` voxels around the label's centre (geometry kept: ITK slicing)."""
    array = sitk.GetArrayFromImage(label)
    centre = (
        np.argwhere(array > 0).mean(axis=0).round().astype(int) if array.any() else np.array(array.shape) // 2
    )
    start = [int(np.clip(c - s // 2, 0, n - s)) for c, s, n in zip(centre, CROP, array.shape)]
    zs, ys, xs = (slice(a, a + s) for a, s in zip(start, CROP))
    return image[xs, ys, zs], label[xs, ys, zs]


def make_tiny_msd(out: Path, count: int = 6) -> Path:
    """``count`` cropped sample cases as an MSD task folder."""
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    meta["training"], meta["numTraining"] = meta["training"][:count], count
    meta.pop("test", None)
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for entry in meta["training"]:
        image, label = crop_case(
            sitk.ReadImage(str(sample_path() / entry["image"])),
            sitk.ReadImage(str(sample_path() / entry["label"])),
        )
        sitk.WriteImage(image, str(out / entry["image"]))
        sitk.WriteImage(label, str(out / entry["label"]))
    (out / "dataset.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return out


def case_ids(data: Path) -> list[str]:
    """The case ids of an MSD folder, in listed order."""
    meta = json.loads((data / "dataset.json").read_text(encoding="utf-8"))
    return [Path(e["image"]).name.removesuffix(".nii.gz") for e in meta["training"]]


def snapshot(root: Path) -> Snapshot:
    """Relative path -> SHA-256 of every file under ``root`` (symlinks and folders skipped)."""
    out: Snapshot = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def temporaries(root: Path) -> list[str]:
    """Names of leftover temporary files/folders (``.tmp-*``) under ``root``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(".tmp-*")) if root.exists() else []


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``medseg ARGV`` in this process: ``(exit status, stdout, stderr)``; argparse exits count too."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def medseg_subprocess(
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real ``medseg`` command in a fresh interpreter (``python -m medseg.cli.main``)."""
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "medseg.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        encoding="utf-8",
        preexec_fn=preexec,
    )


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes beyond ``limit`` bytes fail with EFBIG ("File too large") while inside: a portable full disk
    (Python ignores SIGXFSZ, so the write returns the error instead of killing the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def mount(args: list[str]) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def fill(folder: Path, leave: int) -> None:
    """Fill ``folder``'s file system until about ``leave`` bytes are free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with (folder / "filler.bin").open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


def live_group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that are still running (zombies do not count)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(entry.name))
    return alive
