"""The table machinery of the malformed-input suite: a row, its context, the helpers that break inputs,
and the one check every row goes through (:func:`check_row`).

Every row asserts what a user gets from a malformed input:

* exit status 2 and exactly one line on stderr, ``medseg: error: <the row's message>``;
* nothing half-made left behind: no new file anywhere the command could write (except a row's
  declared complete caches), no temporary ``.tmp-*`` file;
* no earlier result overwritten: every file that existed before (the row's folder and the shared
  trained work folder) is byte-identical afterwards;
* a crafted payload never runs (its marker file never appears).

``MEDSEG_EXPLORE=1`` prints what each row produced instead of asserting (to write a new row).
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from reliability_kit import TINY, Snapshot, run_cli, snapshot, temporaries

EXPLORE = os.environ.get("MEDSEG_EXPLORE") == "1"
FIRST = "hippocampus_007"  # the first case of the tiny dataset
#: what a write into the read-only folder fails with (a read-only mount for root, permissions otherwise)
RO_REASON = "Read-only file system" if os.geteuid() == 0 else "Permission denied"
HINT = "(set dataset_info.nonfinite: minimum to replace them with the channel's smallest finite value)"


@dataclass
class Ctx:
    """What a row works with: its own folder, a private copy of the tiny dataset, the shared trained work."""

    tmp: Path
    source: Path
    trained: dict[str, Path]
    ro: Path = Path("/nonexistent")
    _data: Path | None = None

    @property
    def data(self) -> Path:
        """A private, writable copy of the tiny dataset (made on first use)."""
        if self._data is None:
            self._data = self.tmp / "data"
            shutil.copytree(self.source, self._data)
        return self._data

    @property
    def work(self) -> Path:
        return self.trained["work"]

    @property
    def exp(self) -> Path:
        return self.trained["experiment"]

    def image(self, case: str = FIRST) -> Path:
        return self.data / "imagesTr" / f"{case}.nii.gz"

    def label(self, case: str = FIRST) -> Path:
        return self.data / "labelsTr" / f"{case}.nii.gz"

    def meta(self) -> dict[str, object]:
        return json.loads((self.data / "dataset.json").read_text(encoding="utf-8"))

    def set_meta(self, meta: object) -> None:
        (self.data / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")

    def work_copy(self) -> Path:
        """A private copy of the trained work folder (for rows that break something inside it)."""
        target = self.tmp / "work"
        if not target.exists():
            shutil.copytree(self.work, target)
        return target

    def fmt(self, text: str) -> str:
        return text.format(
            tmp=self.tmp,
            data=self.tmp / "data",
            work=self.work,
            exp=self.exp,
            ckpt=self.trained["checkpoint"],
            preds=self.trained["predictions"],
            wcopy=self.tmp / "work",
            ro=self.ro,
            ro_reason=RO_REASON,
            stamp=self.exp.name,
        )


@dataclass
class Row:
    id: str
    argv: Callable[[Ctx], list[str]]
    expected: str
    setup: Callable[[Ctx], object] | None = None
    allow_new: tuple[str, ...] = ()  # relative paths (prefixes) under tmp that may appear (complete caches)
    marker: bool = False  # a crafted payload would create tmp/PWNED
    needs: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------- helpers that break things
def write_array(path: Path, array: np.ndarray, like: Path | None = None) -> None:
    image = sitk.GetImageFromArray(array)
    if like is not None:
        ref = sitk.ReadImage(str(like))
        image.SetSpacing(ref.GetSpacing())
        image.SetOrigin(ref.GetOrigin())
        image.SetDirection(ref.GetDirection())
    sitk.WriteImage(image, str(path))


def image_array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def truncate(path: Path, keep: float = 0.5) -> None:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    data = raw[: int(len(raw) * keep)]
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def nan_image(ctx: Ctx) -> None:
    array = image_array(ctx.image()).astype(np.float32)
    array[0, 0, 0] = np.nan
    array[1, 2, 3] = np.inf
    write_array(ctx.image(), array, like=ctx.image())


def flip_tensor_byte(path: Path) -> None:
    import struct

    data = bytearray(path.read_bytes())
    start = 8 + struct.unpack("<Q", bytes(data[:8]))[0]
    data[start + (len(data) - start) // 2] ^= 0x40
    path.write_bytes(bytes(data))


class Payload:
    """Unpickling this runs ``touch PWNED``: a crafted file must never be unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def pickle_file(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    return path


def yaml_payload(ctx: Ctx) -> Path:
    path = ctx.tmp / "evil.yaml"
    path.write_text(
        f"training: !!python/object/apply:os.system ['touch {ctx.tmp / 'PWNED'}']\n", encoding="utf-8"
    )
    return path


def csv_file(ctx: Ctx, text: str, name: str = "cases.csv") -> Path:
    path = ctx.tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_of(ctx: Ctx, rows: list[tuple[str, str]], header: str = "image,label") -> Path:
    lines = [header] + [f"{a},{b}" for a, b in rows]
    return csv_file(ctx, "\n".join(lines) + "\n")


def images_folder(ctx: Ctx, *cases: str) -> Path:
    folder = ctx.tmp / "images"
    folder.mkdir(exist_ok=True)
    for case in cases or (FIRST,):
        shutil.copy(ctx.source / "imagesTr" / f"{case}.nii.gz", folder / f"{case}.nii.gz")
    return folder


def refs_folder(ctx: Ctx) -> Path:
    """Reference labels for the trained run's predictions."""
    folder = ctx.tmp / "refs"
    folder.mkdir(exist_ok=True)
    for p in ctx.trained["predictions"].iterdir():
        shutil.copy(ctx.source / "labelsTr" / p.name, folder / p.name)
    return folder


def preds_copy(ctx: Ctx) -> Path:
    folder = ctx.tmp / "preds"
    if not folder.exists():
        shutil.copytree(ctx.trained["predictions"], folder)
    return folder


def other_plan_experiment(ctx: Ctx) -> Path:
    """A copy of the trained experiment whose checkpoint holds a different Plan (patch 16x16x8)."""
    from medseg.io.state import load_state, save_state

    target = ctx.tmp / "other_exp"
    shutil.copytree(ctx.exp, target)
    ckpt = target / "checkpoints" / "latest.safetensors"
    state, meta = load_state(ckpt)
    plan = json.loads(meta["plan"])
    plan["patch_size"] = [16, 16, 8]
    meta["plan"] = json.dumps(plan)
    save_state(ckpt, state, meta)
    (target / "checkpoints" / "best.safetensors").unlink(missing_ok=True)
    return target


def msd_without(ctx: Ctx, key: str) -> None:
    meta = ctx.meta()
    del meta[key]
    ctx.set_meta(meta)


def remove_label_of_first(ctx: Ctx) -> None:
    meta = ctx.meta()
    del meta["training"][0]["label"]  # type: ignore[index]
    ctx.set_meta(meta)


def empty_labels(ctx: Ctx) -> None:
    for label in (ctx.data / "labelsTr").iterdir():
        write_array(label, np.zeros_like(image_array(label)), like=label)


A = ["--workers", "0"]
TRAIN = [*TINY, "--epochs", "1", "--set", "training.workers=0"]


def analyze(ctx: Ctx, *extra: str) -> list[str]:
    return ["analyze", str(ctx.data), "-o", str(ctx.tmp / "out"), *A, *extra]


def predict(ctx: Ctx, source: Path | str, *extra: str) -> list[str]:
    return ["predict", str(source), "-o", str(ctx.tmp / "pred"), "-e", str(ctx.exp), "--no-tta", *extra]


def _ro_experiments(ctx: Ctx) -> Path:
    """A work copy whose experiments/ folder is the read-only folder (a link to it)."""
    work = ctx.tmp / "work_ro"
    work.mkdir()
    for name in ("config.json", "folds.json"):
        shutil.copy(ctx.work / name, work / name)
    shutil.copytree(ctx.work / "preprocessed", work / "preprocessed")
    (work / "experiments").symlink_to(ctx.ro, target_is_directory=True)
    return work


def _ro_experiment(ctx: Ctx) -> Path:
    """An experiment folder that cannot be written into: its report.html cannot appear."""
    link = ctx.tmp / "exp_ro"
    link.symlink_to(ctx.ro, target_is_directory=True)
    return link


def _respaced(path: Path) -> sitk.Image:
    image = sitk.ReadImage(str(path))
    image.SetSpacing([s * 1.5 for s in image.GetSpacing()])
    return image


def _binary(ctx: Ctx, name: str) -> Path:
    path = ctx.tmp / name
    path.write_bytes(bytes(range(256)) * 8)
    return path


def _latest(work: Path) -> Path:
    return (
        next((work / "experiments" / "SegmentationTrainer_fold0").iterdir())
        / "checkpoints"
        / "latest.safetensors"
    )


def _corrupt_ckpt(ctx: Ctx) -> Path:
    target = ctx.tmp / "corrupt.safetensors"
    if not target.exists():
        shutil.copy(ctx.trained["checkpoint"], target)
        flip_tensor_byte(target)
    return target


def _plain_safetensors(ctx: Ctx) -> Path:
    from safetensors.torch import save_file

    path = ctx.tmp / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    return path


def _planned_copy(ctx: Ctx) -> Path:
    """A work folder holding only the trained work's config.json (planned, nothing trained)."""
    target = ctx.tmp / "planned"
    target.mkdir(exist_ok=True)
    shutil.copy(ctx.work / "config.json", target / "config.json")
    return target


def _move_source(ctx: Ctx) -> None:
    work = ctx.work_copy()
    config = json.loads((work / "config.json").read_text(encoding="utf-8"))
    config["dataset_info"]["source"] = str(ctx.tmp / "moved_away")
    (work / "config.json").write_text(json.dumps(config), encoding="utf-8")


def _nan_input(path: Path) -> None:
    array = image_array(path).astype(np.float32)
    array[3, 3, 3] = np.nan
    write_array(path, array, like=path)


def _nan_label(path: Path) -> None:
    array = image_array(path).astype(np.float32)
    array[0, 0, 0] = np.nan
    write_array(path, array, like=path)


def _two_channel_input(folder: Path) -> None:
    source = folder / f"{FIRST}.nii.gz"
    shutil.copy(source, folder / f"{FIRST}_0000.nii.gz")
    shutil.copy(source, folder / f"{FIRST}_0001.nii.gz")
    source.unlink()


def _unrelated_refs(ctx: Ctx) -> None:
    folder = ctx.tmp / "r"
    folder.mkdir()
    shutil.copy(ctx.source / "labelsTr" / f"{FIRST}.nii.gz", folder / "someone_else.nii.gz")


def _earlier_csv(ctx: Ctx) -> None:
    folder = ctx.tmp / "e"
    folder.mkdir(exist_ok=True)
    (folder / "m.csv").write_text("case_id,Anterior/dice\nearlier,0.5\n", encoding="utf-8")


def check_row(
    row: Row,
    tmp_path: Path,
    tiny_data: Path,
    trained: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """Prepare ``row``, run its command, and assert the module docstring's promises."""
    ctx = Ctx(tmp_path, tiny_data, trained)
    if "ro" in row.needs:
        ctx.ro = request.getfixturevalue("read_only_dir")
    if "no-cuda" in row.needs and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    if row.setup is not None:
        row.setup(ctx)
    argv = row.argv(ctx)
    before, shared_before = snapshot(tmp_path), _shared(trained)
    code, _, err = run_cli(argv, capsys)
    after = snapshot(tmp_path)
    new = sorted(k for k in after.keys() - before.keys() if not k.startswith(row.allow_new or ("\0",)))
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    if EXPLORE:
        print(f"\nROW {row.id}: exit {code}\n  stderr: {err!r}\n  new: {new}\n  changed: {changed}")
        return
    assert code == 2, (code, err)
    assert err == f"medseg: error: {ctx.fmt(row.expected)}\n"
    assert new == [] and changed == [], (new, changed)
    assert temporaries(tmp_path) == []
    assert _shared(trained) == shared_before
    if row.marker:
        assert not (tmp_path / "PWNED").exists(), "a crafted payload ran"


def _shared(trained: dict[str, Path]) -> Snapshot:
    return {**snapshot(trained["work"]), **{f"data/{k}": v for k, v in snapshot(trained["data"]).items()}}
