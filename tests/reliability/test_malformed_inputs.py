"""Malformed inputs through the ``medseg`` command, one table row each, every verb.

Each row prepares a hostile input (a missing, corrupt or truncated image, NaN voxels, a bad
dataset.json or CSV, bad config keys and values, crafted pickle/YAML payloads, bad case ids,
mismatched grids, bad flags, a read-only or full output folder) and asserts what a user gets:

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


ROWS: list[Row] = [
    # ---------------------------------------------------------------- analyze: the dataset
    Row(
        "analyze-missing-dataset",
        lambda c: ["analyze", str(c.tmp / "nope"), "-o", str(c.tmp / "out")],
        "{tmp}/nope: dataset not found",
    ),
    Row(
        "analyze-empty-folder",
        lambda c: ["analyze", str(c.tmp / "empty"), "-o", str(c.tmp / "out")],
        (
            "{tmp}/empty: not a recognised dataset (expected a folder with dataset.json, an image folder "
            "beside a label folder (images/image/imgs/img + labels/label/1st_manual/manual/...), or a "
            ".csv table)"
        ),
        setup=lambda c: (c.tmp / "empty").mkdir(),
    ),
    Row(
        "dataset-json-invalid",
        lambda c: analyze(c),
        "{tmp}/data/dataset.json: invalid JSON at line 1, column 15: Expecting value",
        setup=lambda c: (c.data / "dataset.json").write_text('{"training": [', encoding="utf-8"),
    ),
    Row(
        "dataset-json-list",
        lambda c: analyze(c),
        "{tmp}/data/dataset.json: expected a JSON object at the top level, got list",
        setup=lambda c: c.set_meta([1, 2]),
    ),
    Row(
        "dataset-json-no-training",
        lambda c: analyze(c),
        (
            "{tmp}/data/dataset.json: neither an MSD ('training' list) nor an nnU-Net ('channel_names') "
            "description"
        ),
        setup=lambda c: msd_without(c, "training"),
    ),
    Row(
        "dataset-json-no-labels",
        lambda c: analyze(c),
        '{tmp}/data/dataset.json: key \'labels\' must be a non-empty object like {{"0": "background"}}',
        setup=lambda c: msd_without(c, "labels"),
    ),
    Row(
        "dataset-json-entry-not-object",
        lambda c: analyze(c),
        "{tmp}/data/dataset.json: training[0] must be an object with an 'image' path",
        setup=lambda c: c.set_meta({**c.meta(), "training": ["x.nii.gz"]}),
    ),
    Row(
        "dataset-json-binary",
        lambda c: analyze(c),
        "{tmp}/data/dataset.json: not a UTF-8 text file",
        setup=lambda c: (c.data / "dataset.json").write_bytes(b"\xff\xfe\x00garbage"),
    ),
    Row(
        "listed-image-missing",
        lambda c: analyze(c),
        ("{tmp}/data/dataset.json: listed file {tmp}/data/imagesTr/hippocampus_007.nii.gz does not exist"),
        setup=lambda c: c.image().unlink(),
    ),
    Row(
        "image-corrupt",
        lambda c: analyze(c),
        "{tmp}/data/imagesTr/hippocampus_007.nii.gz: cannot be read (corrupt or not a .nii.gz file)",
        setup=lambda c: c.image().write_bytes(os.urandom(4000)),
    ),
    Row(
        "image-empty-file",
        lambda c: analyze(c),
        "{tmp}/data/imagesTr/hippocampus_007.nii.gz: cannot be read (corrupt or not a .nii.gz file)",
        setup=lambda c: c.image().write_bytes(b""),
    ),
    Row(
        "image-truncated",
        lambda c: analyze(c),
        ("{tmp}/data/imagesTr/hippocampus_007.nii.gz: truncated file (19376 of 38752 bytes of NIfTI data)"),
        setup=lambda c: truncate(c.image()),
    ),
    Row(
        "image-not-gzip",
        lambda c: analyze(c),
        "{tmp}/data/imagesTr/hippocampus_007.nii.gz: cannot be read (corrupt or not a .nii.gz file)",
        setup=lambda c: c.image().write_bytes(gzip.decompress(c.image().read_bytes())[:200]),
    ),
    Row(
        "label-truncated",
        lambda c: analyze(c),
        ("{tmp}/data/labelsTr/hippocampus_007.nii.gz: truncated file (7961 of 9952 bytes of NIfTI data)"),
        setup=lambda c: truncate(c.label(), 0.8),
    ),
    Row(
        "image-nan-inf",
        lambda c: analyze(c),
        (
            "{tmp}/data/imagesTr/hippocampus_007.nii.gz: image has 2 NaN/inf voxels (set "
            "dataset_info.nonfinite: minimum to replace them with the channel's smallest finite value)"
        ),
        setup=nan_image,
    ),
    Row(
        "label-grid-shape-mismatch",
        lambda c: analyze(c),
        (
            "case hippocampus_007: label {tmp}/data/labelsTr/hippocampus_007.nii.gz has shape (20, 22, "
            "20) but image {tmp}/data/imagesTr/hippocampus_007.nii.gz has (20, 24, 20)"
        ),
        setup=lambda c: write_array(c.label(), image_array(c.label())[:, :-2], like=c.label()),
    ),
    Row(
        "label-grid-spacing-mismatch",
        lambda c: analyze(c),
        (
            "case hippocampus_007: label {tmp}/data/labelsTr/hippocampus_007.nii.gz geometry (shape (20, "
            "24, 20), spacing (1.5, 1.5, 1.5), origin (-6, -13, 10), direction (-1, 0, 0, 0, -1, 0, 0, "
            "0, 1)) differs from image {tmp}/data/imagesTr/hippocampus_007.nii.gz (shape (20, 24, 20), "
            "spacing (1, 1, 1), origin (-6, -13, 10), direction (-1, 0, 0, 0, -1, 0, 0, 0, 1))"
        ),
        setup=lambda c: sitk.WriteImage(_respaced(c.label()), str(c.label())),
    ),
    Row(
        "label-fractional",
        lambda c: analyze(c),
        "{tmp}/data/labelsTr/hippocampus_007.nii.gz: label has 1387 non-integer values (e.g. 0.5)",
        setup=lambda c: write_array(
            c.label(), image_array(c.label()).astype(np.float32) * 0.5, like=c.label()
        ),
    ),
    Row(
        "label-negative",
        lambda c: analyze(c),
        (
            "{tmp}/data/labelsTr/hippocampus_007.nii.gz: label of case hippocampus_007 has negative "
            "values (down to -1); labels are class values >= 0"
        ),
        setup=lambda c: write_array(c.label(), image_array(c.label()).astype(np.int16) - 1, like=c.label()),
    ),
    Row(
        "image-2d-among-3d",
        lambda c: analyze(c),
        ("{tmp}/data: case hippocampus_011 has 1 channel(s) of 3D, but case hippocampus_007 has 1 of 2D"),
        setup=lambda c: (
            write_array(c.image(), image_array(c.image())[0]),
            write_array(c.label(), image_array(c.label())[0]),
        ),
    ),
    Row(
        "image-two-channels",
        lambda c: analyze(c),
        (
            "case hippocampus_007: {tmp}/data/imagesTr/hippocampus_007.nii.gz hold 2 channel(s) but 1 "
            "are expected"
        ),
        setup=lambda c: sitk.WriteImage(
            sitk.JoinSeries([sitk.ReadImage(str(c.image()))] * 2), str(c.image())
        ),
    ),
    Row(
        "all-labels-empty",
        lambda c: analyze(c),
        (
            "{tmp}/data: every label is empty (no foreground voxel in any of the 6 labelled cases); "
            "there is nothing to learn"
        ),
        setup=empty_labels,
        allow_new=("out/fingerprint/",),
    ),
    Row(
        "unlabelled-training-case",
        lambda c: analyze(c),
        (
            "{tmp}/data: training case hippocampus_007 has no label; every training case needs one "
            "(remove the case or add its label)"
        ),
        setup=remove_label_of_first,
        allow_new=("out/fingerprint/",),
    ),
    Row(
        "csv-unsafe-case-id",
        lambda c: [
            "convert-csv",
            str(
                csv_file(
                    c,
                    f"id,image,label\n../../evil,"
                    f"{c.source}/imagesTr/{FIRST}.nii.gz,{c.source}/labelsTr/{FIRST}.nii.gz\n",
                )
            ),
            str(c.tmp / "raw"),
            "--id-column",
            "id",
        ],
        "{tmp}/raw: case id '../../evil' is not a valid file name",
    ),
    # ---------------------------------------------------------------- analyze: config and flags
    Row(
        "config-unknown-key",
        lambda c: analyze(c, "--config", str(csv_file(c, '{"trainingg": {}}', "c.json"))),
        (
            "{tmp}/c.json: unknown key 'trainingg'; valid keys here: dataset_info, evaluation, "
            "inference, model, notes, preprocessing, spatial_config, training, version"
        ),
    ),
    Row(
        "config-yaml-payload",
        lambda c: analyze(c, "--config", str(yaml_payload(c))),
        (
            "{tmp}/evil.yaml: not valid YAML (could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system' at line 1)"
        ),
        marker=True,
    ),
    Row(
        "config-binary",
        lambda c: analyze(c, "--config", str(_binary(c, "c.yaml"))),
        "{tmp}/c.yaml: not a UTF-8 text file (a config is JSON or YAML text)",
    ),
    Row(
        "config-directory",
        lambda c: analyze(c, "--config", str(c.tmp)),
        "{tmp}: cannot read config (Is a directory)",
    ),
    Row(
        "flag-unknown-model",
        lambda c: analyze(c, "--model", "resnet9000"),
        (
            "config key 'model.name' = 'resnet9000' is invalid; valid choices: cmunext, fmgnet, "
            "mednext-b, mednext-l, mednext-m, mednext-s, swintransunet, swinunetr, swinunetr-base, "
            "swinunetr-large, swinunetr-small, transunet, unet, unet-pocket, unet-res, unetpp, unetr, "
            "vnet, wnet"
        ),
    ),
    Row(
        "flag-patch-size-2d-for-3d",
        lambda c: analyze(c, "--patch-size", "16", "16"),
        (
            "plan override 'patch_size' = [16, 16] is invalid: needs 3 values; valid choices: 3 positive "
            "integers"
        ),
        allow_new=("out/fingerprint/",),  # the complete fingerprint cache: the override fails at planning
    ),
    Row(
        "flag-target-spacing-zero",
        lambda c: analyze(c, "--target-spacing", "0", "1", "1"),
        (
            "command line: key 'spatial_config.target_spacing.0' = 0.0 is invalid; valid choices: a "
            "number > 0.0"
        ),
    ),
    Row(
        "flag-workers-negative",
        lambda c: analyze(c, "--workers", "-1"),
        "command line: key 'preprocessing.workers' = -1 is invalid; valid choices: a number >= 0",
    ),
    Row(
        "flag-not-a-number",
        lambda c: analyze(c, "--batch-size", "two"),
        "command line: argument --batch-size: invalid int value: 'two' (see 'medseg analyze --help')",
    ),
    Row(
        "flag-unknown",
        lambda c: analyze(c, "--frobnicate"),
        "command line: unrecognized arguments: --frobnicate (see 'medseg --help')",
    ),
    Row(
        "set-value-bad-yaml",
        lambda c: analyze(c, "--set", "training.lr=[1,"),
        "command line: key 'training.lr' = '[1,' is invalid; valid choices: a number",
    ),
    Row(
        "set-nonfinite-bad",
        lambda c: analyze(c, "--set", "dataset_info.nonfinite=zero"),
        (
            "command line: key 'dataset_info.nonfinite' = 'zero' is invalid; valid choices: 'error' or "
            "'minimum'"
        ),
    ),
    # ---------------------------------------------------------------- preprocess
    Row(
        "preprocess-no-config",
        lambda c: ["preprocess", "-o", str(c.tmp / "w")],
        "config key 'dataset_info.source' is not set; give the dataset folder or table",
    ),
    Row(
        "preprocess-config-corrupt",
        lambda c: ["preprocess", "-o", str(c.tmp / "w")],
        ("{tmp}/w/config.json: not valid JSON (Expecting property name enclosed in double quotes at line 1)"),
        setup=lambda c: (
            (c.tmp / "w").mkdir(),
            (c.tmp / "w" / "config.json").write_text("{", encoding="utf-8"),
        ),
    ),
    Row(
        "preprocess-unplanned",
        lambda c: ["preprocess", "-o", str(c.tmp / "w"), "--data", str(c.data), *A],
        ("config key 'dataset_info.channel_names' is not set; run `medseg analyze` to plan it or set it"),
    ),
    Row(
        "preprocess-plan-mismatch",
        lambda c: [
            "preprocess",
            "-o",
            str(c.work_copy()),
            *A,
            "--set",
            "spatial_config.target_spacing=[3,3,3]",
        ],
        (
            "{tmp}/work/preprocessed/plan.json: cache made with target_spacing=[1.0, 1.0, 1.0], this "
            "plan has [3.0, 3.0, 3.0]; use another output folder or delete this one"
        ),
    ),
    # ---------------------------------------------------------------- train
    Row(
        "train-resume-nothing",
        lambda c: ["train", "-o", str(_planned_copy(c)), "--resume", *TRAIN],
        (
            "{tmp}/planned: no trained run for fold 0 (no checkpoint under "
            "experiments/SegmentationTrainer_fold0/); run `medseg train` first"
        ),
    ),
    Row(
        "train-resume-network-changed",
        lambda c: [
            "train",
            "-o",
            str(c.work_copy()),
            "--resume",
            "--fold",
            "0",
            *TRAIN[:-2],
            "--features-base",
            "8",
        ],
        (
            "{tmp}/work/config.json: its Plan differs from "
            "{tmp}/work/experiments/SegmentationTrainer_fold0/{stamp}/checkpoints/latest.safetensors's "
            "in 'network' ({{'name': 'unet', 'params': {{'features_base': 8, 'max_features': 320, "
            "'conv_ke... vs {{'name': 'unet', 'params': {{'features_base': 4, 'max_features': 320, "
            "'conv_ke...); they must share one Plan (an ensemble, a resumed run)"
        ),
    ),
    Row(
        "train-resume-corrupt-checkpoint",
        lambda c: [
            "train",
            "-o",
            str(c.work_copy()),
            "--resume",
            "--fold",
            "0",
            "--epochs",
            "2",
            "--set",
            "training.workers=0",
        ],
        (
            "checkpoint "
            "{tmp}/work/experiments/SegmentationTrainer_fold0/{stamp}/checkpoints/latest.safetensors is "
            "corrupt: tensor data does not match its hash"
        ),
        setup=lambda c: flip_tensor_byte(_latest(c.work_copy())),
    ),
    Row(
        "train-cache-object-npy",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        (
            "{tmp}/work/preprocessed/cases/hippocampus_007/image.npy: cache array has dtype object "
            "(object/structured arrays are refused: they need pickle); delete the preprocessed folder to "
            "rebuild it"
        ),
        setup=lambda c: np.save(
            c.work_copy() / "preprocessed" / "cases" / FIRST / "image.npy",
            np.array([{"a": 1}, None], dtype=object),
            allow_pickle=True,
        ),
    ),
    Row(
        "train-cache-truncated-npy",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        (
            "{tmp}/work/preprocessed/cases/hippocampus_007/label.npy: truncated .npy cache file (9664 of "
            "19328 bytes); delete the preprocessed folder to rebuild it"
        ),
        setup=lambda c: truncate(c.work_copy() / "preprocessed" / "cases" / FIRST / "label.npy", 0.5),
    ),
    Row(
        "train-cache-properties-corrupt",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        (
            "{tmp}/work/preprocessed/cases/hippocampus_007/properties.json: cannot read case properties "
            "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
        ),
        setup=lambda c: (c.work_copy() / "preprocessed" / "cases" / FIRST / "properties.json").write_text(
            "{", encoding="utf-8"
        ),
    ),
    Row(
        "train-cache-plan-corrupt",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        "{tmp}/work/preprocessed/plan.json: invalid plan at <root>: Input should be an object",
        setup=lambda c: (c.work_copy() / "preprocessed" / "plan.json").write_text("[]", encoding="utf-8"),
    ),
    Row(
        "train-folds-json-corrupt",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        (
            "{tmp}/work/folds.json: invalid JSON at line 1, column 2: Expecting property name enclosed "
            "in double quotes"
        ),
        setup=lambda c: (c.work_copy() / "folds.json").write_text("{oops", encoding="utf-8"),
    ),
    Row(
        "train-folds-json-unknown-case",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        "{tmp}/work/folds.json: 1 unknown case id(s) not in the dataset: nobody",
        setup=lambda c: (c.work_copy() / "folds.json").write_text('{"nobody": 0}', encoding="utf-8"),
    ),
    Row(
        "train-fold-out-of-range",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "7", *TRAIN],
        "fold 7 does not exist (folds are 0..1)",
    ),
    Row(
        "train-dataset-moved",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN],
        "{tmp}/moved_away: dataset not found",
        setup=lambda c: _move_source(c),
    ),
    # ---------------------------------------------------------------- run-all
    Row(
        "run-all-bad-loss",
        lambda c: ["run-all", str(c.data), "-o", str(c.tmp / "w"), "--loss", "nope"],
        (
            "training.loss: unknown loss 'nope'; valid: boundary, ce_weighted, cldice, dice, dice_ce, "
            "dice_focal, dice_weighted, gsl, hausdorff_dt, tversky"
        ),
    ),
    Row(
        "run-all-bad-metric",
        lambda c: ["run-all", str(c.data), "-o", str(c.tmp / "w"), "--set", "evaluation.metrics=[nsd@abc]"],
        (
            "config key 'evaluation.metrics.0' = 'nsd@abc' is invalid: metric 'nsd@abc': tolerance 'abc' "
            "is not a number of mm; valid metrics: assd, dice, hd, hd95, iou, lesion_detection_rate, "
            "lesion_dice, lesion_hd95, lesion_nsd, nsd, precision, recall, relative_volume_error, "
            "sensitivity, specificity"
        ),
    ),
    Row(
        "run-all-format-msd-on-csv",
        lambda c: [
            "run-all",
            str(csv_of(c, [("a.nii.gz", "b.nii.gz")])),
            "-o",
            str(c.tmp / "w"),
            "--set",
            "dataset_info.format=msd",
        ],
        "{tmp}/cases.csv: dataset_info.format is 'msd', which needs a dataset folder, not a file",
    ),
    Row(
        "run-all-folds-out-of-range",
        lambda c: ["run-all", str(c.data), "-o", str(c.tmp / "w"), "--folds", "9"],
        (
            "command line: key 'training.folds' = [9] is invalid; valid choices: fold numbers 0..4 "
            "(n_folds is 5) or 'all'"
        ),
    ),
    # ---------------------------------------------------------------- predict / ensemble
    Row(
        "predict-experiment-missing",
        lambda c: ["predict", str(images_folder(c)), "-o", str(c.tmp / "pred"), "-e", str(c.tmp / "nope")],
        "{tmp}/nope: no such checkpoint file or experiment folder",
    ),
    Row(
        "predict-experiment-empty",
        lambda c: ["predict", str(images_folder(c)), "-o", str(c.tmp / "pred"), "-e", str(c.tmp / "exp")],
        "{tmp}/exp: no checkpoint file and no checkpoints/best.safetensors inside",
        setup=lambda c: (c.tmp / "exp").mkdir(),
    ),
    Row(
        "predict-checkpoint-corrupt",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-e",
            str(_corrupt_ckpt(c)),
            "--no-tta",
        ],
        "checkpoint {tmp}/corrupt.safetensors is corrupt: tensor data does not match its hash",
    ),
    Row(
        "predict-checkpoint-junk",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-e",
            str(_binary(c, "junk.safetensors")),
        ],
        (
            "{tmp}/junk.safetensors: not a readable safetensors checkpoint (Error while deserializing "
            "header: header too large)"
        ),
    ),
    Row(
        "predict-checkpoint-no-plan",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-e",
            str(_plain_safetensors(c)),
        ],
        "{tmp}/plain.safetensors: checkpoint has no embedded Plan (not written by a medseg trainer)",
    ),
    Row(
        "predict-pickle-payload",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-e",
            str(pickle_file(c.tmp / "model.pth", c.tmp / "PWNED")),
        ],
        (
            "{tmp}/model.pth: not a readable safetensors checkpoint (Error while deserializing header: "
            "header too large)"
        ),
        marker=True,
    ),
    Row(
        "predict-pickle-named-safetensors",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-e",
            str(pickle_file(c.tmp / "m.safetensors", c.tmp / "PWNED")),
        ],
        (
            "{tmp}/m.safetensors: not a readable safetensors checkpoint (Error while deserializing "
            "header: header too large)"
        ),
        marker=True,
    ),
    Row(
        "predict-two-plans",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-e",
            str(c.exp),
            "-e",
            str(other_plan_experiment(c)),
        ],
        (
            "{tmp}/other_exp/checkpoints/latest.safetensors: its Plan differs from "
            "{exp}/checkpoints/best.safetensors's in 'patch_size' ([16, 16, 8] vs [16, 16, 16]); they "
            "must share one Plan (an ensemble, a resumed run)"
        ),
    ),
    Row(
        "predict-input-missing",
        lambda c: predict(c, c.tmp / "nothing"),
        "{tmp}/nothing: no such file or folder to predict",
    ),
    Row(
        "predict-input-empty-folder",
        lambda c: predict(c, c.tmp / "empty"),
        (
            "{tmp}/empty: no images found (looked for .nii.gz, .nii, .mha, .mhd, .nrrd, .png, .tif, "
            ".tiff, .jpg, .jpeg, .bmp, .gif files and DICOM series)"
        ),
        setup=lambda c: (c.tmp / "empty").mkdir(),
    ),
    Row(
        "predict-input-corrupt",
        lambda c: predict(c, c.tmp / "images"),
        "{tmp}/images/hippocampus_007.nii.gz: cannot be read (corrupt or not a .nii.gz file)",
        setup=lambda c: (images_folder(c) / f"{FIRST}.nii.gz").write_bytes(os.urandom(2000)),
    ),
    Row(
        "predict-input-nan",
        lambda c: predict(c, c.tmp / "images"),
        (
            "{tmp}/images/hippocampus_007.nii.gz: image has 1 NaN/inf voxels (set "
            "dataset_info.nonfinite: minimum to replace them with the channel's smallest finite value)"
        ),
        setup=lambda c: _nan_input(images_folder(c) / f"{FIRST}.nii.gz"),
    ),
    Row(
        "predict-input-two-channels",
        lambda c: predict(c, c.tmp / "images"),
        (
            "case hippocampus_007 ({tmp}/images/hippocampus_007_0000.nii.gz): 2 image channels, the plan "
            "expects 1"
        ),
        setup=lambda c: _two_channel_input(images_folder(c)),
    ),
    Row(
        "predict-input-2d",
        lambda c: predict(c, c.tmp / "images"),
        (
            "case hippocampus_007 ({tmp}/images/hippocampus_007.nii.gz): a 2D image, but the plan is for "
            "3D images"
        ),
        setup=lambda c: write_array(
            images_folder(c) / f"{FIRST}.nii.gz", image_array(c.source / "imagesTr" / f"{FIRST}.nii.gz")[0]
        ),
    ),
    Row(
        "predict-input-unsupported",
        lambda c: predict(c, _binary(c, "scan.npy")),
        (
            "{tmp}/scan.npy: unsupported image extension '.npy' (supported: .nii.gz, .nii, .mha, .mhd, "
            ".nrrd, .nhdr, .png, .jpg, .jpeg, .tif, .tiff, .bmp, .gif, .dcm)"
        ),
    ),
    Row(
        "predict-case-id-dot",
        lambda c: predict(c, c.tmp / "..nii.gz"),
        "case id '.' is not a plain file name (no path separators, no leading '.'); rename the case",
        setup=lambda c: shutil.copy(c.source / "imagesTr" / f"{FIRST}.nii.gz", c.tmp / "..nii.gz"),
    ),
    Row(
        "predict-checkpoint-kind",
        lambda c: predict(c, images_folder(c), "--checkpoint", "epoch-3"),
        (
            "command line: key 'inference.checkpoint' = 'epoch-3' is invalid; valid choices: 'best' or "
            "'latest'"
        ),
    ),
    Row(
        "predict-work-untrained-fold",
        lambda c: [
            "predict",
            str(images_folder(c)),
            "-o",
            str(c.tmp / "pred"),
            "-w",
            str(c.work),
            "--folds",
            "1",
        ],
        (
            "{work}: no trained run for fold 1 (no checkpoint under "
            "experiments/SegmentationTrainer_fold1/); run `medseg train` first"
        ),
    ),
    Row(
        "ensemble-without-models",
        lambda c: ["ensemble", str(images_folder(c)), "-o", str(c.tmp / "pred")],
        "command line: give --experiment EXP (repeatable) or --work WORK",
    ),
    Row(
        "ensemble-work-without-runs",
        lambda c: ["ensemble", str(images_folder(c)), "-o", str(c.tmp / "pred"), "-w", str(c.tmp / "w")],
        "{tmp}/w: no trained fold under experiments/; run `medseg train` first",
        setup=lambda c: (c.tmp / "w").mkdir(),
    ),
    # ---------------------------------------------------------------- evaluate
    Row(
        "evaluate-predictions-missing",
        lambda c: ["evaluate", str(c.tmp / "none"), str(refs_folder(c)), "-o", str(c.tmp / "e" / "m.csv")],
        "{tmp}/none: folder does not exist",
    ),
    Row(
        "evaluate-references-missing",
        lambda c: [
            "evaluate",
            str(c.trained["predictions"]),
            str(c.tmp / "none"),
            "-o",
            str(c.tmp / "e" / "m.csv"),
        ],
        "{tmp}/none: folder does not exist",
    ),
    Row(
        "evaluate-grid-mismatch",
        lambda c: ["evaluate", str(preds_copy(c)), str(refs_folder(c)), "-o", str(c.tmp / "e" / "m.csv")],
        (
            "{tmp}/preds/hippocampus_007.nii.gz: case hippocampus_007: the prediction's grid (shape [20, "
            "24, 20], spacing (1.5, 1.5, 1.5), origin (-6, -13, 10)) differs from the reference's (shape "
            "[20, 24, 20], spacing (1, 1, 1), origin (-6, -13, 10)); resample it onto the reference with "
            "--resample"
        ),
        setup=lambda c: sitk.WriteImage(
            _respaced(next(iter(sorted(preds_copy(c).iterdir())))),
            str(next(iter(sorted(preds_copy(c).iterdir())))),
        ),
    ),
    Row(
        "evaluate-prediction-corrupt",
        lambda c: ["evaluate", str(preds_copy(c)), str(refs_folder(c)), "-o", str(c.tmp / "e" / "m.csv")],
        "{tmp}/preds/hippocampus_007.nii.gz: cannot be read (corrupt or not a .nii.gz file)",
        setup=lambda c: next(iter(sorted(preds_copy(c).iterdir()))).write_bytes(b"\x1f\x8b garbage"),
    ),
    Row(
        "evaluate-prediction-nan",
        lambda c: ["evaluate", str(preds_copy(c)), str(refs_folder(c)), "-o", str(c.tmp / "e" / "m.csv")],
        "{tmp}/preds/hippocampus_007.nii.gz: label has 1 NaN/inf voxels",
        setup=lambda c: _nan_label(next(iter(sorted(preds_copy(c).iterdir())))),
    ),
    Row(
        "evaluate-unknown-metric",
        lambda c: [
            "evaluate",
            str(c.trained["predictions"]),
            str(refs_folder(c)),
            "-o",
            str(c.tmp / "e" / "m.csv"),
            "--metric",
            "accuracy",
        ],
        (
            "config key 'evaluation.metrics.0' = 'accuracy' is invalid; valid metrics: assd, dice, hd, "
            "hd95, iou, lesion_detection_rate, lesion_dice, lesion_hd95, lesion_nsd, nsd, precision, "
            "recall, relative_volume_error, sensitivity, specificity"
        ),
    ),
    Row(
        "evaluate-no-common-case",
        lambda c: [
            "evaluate",
            str(c.trained["predictions"]),
            str(c.tmp / "r"),
            "-o",
            str(c.tmp / "e" / "m.csv"),
        ],
        "{work}/predictions/fold_0: no prediction for 1 reference(s), e.g. 'someone_else'",
        setup=lambda c: _unrelated_refs(c),
    ),
    Row(
        "evaluate-keeps-earlier-csv",
        lambda c: ["evaluate", str(preds_copy(c)), str(refs_folder(c)), "-o", str(c.tmp / "e" / "m.csv")],
        "{tmp}/preds/hippocampus_007.nii.gz: cannot be read (corrupt or not a .nii.gz file)",
        setup=lambda c: (_earlier_csv(c), next(iter(sorted(preds_copy(c).iterdir()))).write_bytes(b"")),
    ),
    # ---------------------------------------------------------------- postprocess
    Row(
        "postprocess-strategy-invalid-json",
        lambda c: [
            "postprocess",
            str(c.trained["predictions"]),
            "-o",
            str(c.tmp / "pp"),
            "--strategy",
            str(csv_file(c, "{", "s.json")),
        ],
        "{tmp}/s.json: not valid JSON (Expecting property name enclosed in double quotes at line 1)",
    ),
    Row(
        "postprocess-strategy-unknown-step",
        lambda c: [
            "postprocess",
            str(c.trained["predictions"]),
            "-o",
            str(c.tmp / "pp"),
            "--strategy",
            str(csv_file(c, '{"steps": [{"kind": "magic"}]}', "s.json")),
        ],
        (
            "{tmp}/s.json: key steps.0: Input tag 'magic' found using 'kind' does not match any of the "
            "expected tags: 'keep_largest', 'remove_small', 'fill_holes'"
        ),
    ),
    Row(
        "postprocess-strategy-missing",
        lambda c: [
            "postprocess",
            str(c.trained["predictions"]),
            "-o",
            str(c.tmp / "pp"),
            "--strategy",
            str(c.tmp / "none.json"),
        ],
        "{tmp}/none.json: cannot read postprocessing strategy (No such file or directory)",
    ),
    Row(
        "postprocess-reference-missing",
        lambda c: [
            "postprocess",
            str(c.trained["predictions"]),
            "-o",
            str(c.tmp / "pp"),
            "--reference",
            str(c.tmp / "none"),
        ],
        "{tmp}/none: folder does not exist",
    ),
    Row(
        "postprocess-predictions-missing",
        lambda c: [
            "postprocess",
            str(c.tmp / "none"),
            "-o",
            str(c.tmp / "pp"),
            "--reference",
            str(refs_folder(c)),
        ],
        "{tmp}/none: folder does not exist",
    ),
    # ---------------------------------------------------------------- convert-msd / convert-csv
    Row(
        "convert-msd-no-dataset-json",
        lambda c: ["convert-msd", str(c.tmp / "empty"), str(c.tmp / "raw")],
        "{tmp}/empty/dataset.json: file does not exist",
        setup=lambda c: (c.tmp / "empty").mkdir(),
    ),
    Row(
        "convert-msd-label-missing",
        lambda c: ["convert-msd", str(c.data), str(c.tmp / "raw")],
        ("{tmp}/data/dataset.json: listed file {tmp}/data/labelsTr/hippocampus_007.nii.gz does not exist"),
        setup=lambda c: c.label().unlink(),
    ),
    Row(
        "convert-msd-corrupt-case",
        lambda c: ["convert-msd", str(c.data), str(c.tmp / "raw")],
        ("{tmp}/data/imagesTr/hippocampus_019.nii.gz: truncated file (19376 of 38752 bytes of NIfTI data)"),
        setup=lambda c: truncate(c.image("hippocampus_019")),
    ),
    Row(
        "convert-msd-target-taken",
        lambda c: ["convert-msd", str(c.data), str(c.tmp / "raw")],
        "{tmp}/raw: already holds a dataset.json; choose an empty folder",
        setup=lambda c: (
            (c.tmp / "raw").mkdir(),
            (c.tmp / "raw" / "dataset.json").write_text("{}", encoding="utf-8"),
        ),
    ),
    Row(
        "convert-csv-missing-table",
        lambda c: ["convert-csv", str(c.tmp / "none.csv"), str(c.tmp / "raw")],
        "{tmp}/none.csv: table file does not exist",
    ),
    Row(
        "convert-csv-no-label-column",
        lambda c: ["convert-csv", str(csv_of(c, [("a", "b")], "image,mask")), str(c.tmp / "raw")],
        "{tmp}/cases.csv: column(s) ['label'] not found (columns are ['image', 'mask'])",
    ),
    Row(
        "convert-csv-missing-file",
        lambda c: [
            "convert-csv",
            str(csv_of(c, [(str(c.tmp / "x.nii.gz"), str(c.tmp / "y.nii.gz"))])),
            str(c.tmp / "raw"),
        ],
        "{tmp}/cases.csv: listed file {tmp}/x.nii.gz does not exist (and 1 more)",
    ),
    Row(
        "convert-csv-empty",
        lambda c: ["convert-csv", str(csv_file(c, "")), str(c.tmp / "raw")],
        "{tmp}/cases.csv: empty table (no header row, no cases)",
    ),
    Row(
        "convert-csv-binary",
        lambda c: ["convert-csv", str(_binary(c, "t.csv")), str(c.tmp / "raw")],
        (
            "{tmp}/t.csv: cannot be parsed as CSV (Error tokenizing data. C error: Expected 1 fields in "
            "line 3, saw 2)"
        ),
    ),
    Row(
        "convert-csv-duplicate-ids",
        lambda c: ["convert-csv", str(csv_of(c, [(str(c.image()), str(c.label()))] * 2)), str(c.tmp / "raw")],
        "{tmp}/cases.csv: duplicated case id(s) hippocampus_007",
    ),
    Row(
        "convert-csv-empty-image-cell",
        lambda c: ["convert-csv", str(csv_of(c, [("", str(c.label()))])), str(c.tmp / "raw")],
        "{tmp}/cases.csv: row 1 has no file in column 'image'",
    ),
    # ---------------------------------------------------------------- average-weights
    Row(
        "average-weights-two-plans",
        lambda c: [
            "average-weights",
            str(c.exp),
            str(other_plan_experiment(c)),
            "-o",
            str(c.tmp / "avg.safetensors"),
            "--checkpoint",
            "latest",
        ],
        (
            "{tmp}/other_exp/checkpoints/latest.safetensors: network or Plan differs from {ckpt}; cannot "
            "average"
        ),
    ),
    Row(
        "average-weights-corrupt",
        lambda c: [
            "average-weights",
            str(c.exp),
            str(_corrupt_ckpt(c)),
            "-o",
            str(c.tmp / "avg.safetensors"),
        ],
        "checkpoint {tmp}/corrupt.safetensors is corrupt: tensor data does not match its hash",
    ),
    Row(
        "average-weights-missing",
        lambda c: ["average-weights", str(c.tmp / "none"), "-o", str(c.tmp / "avg.safetensors")],
        "{tmp}/none: no such checkpoint file or experiment folder",
    ),
    Row(
        "average-weights-pickle",
        lambda c: [
            "average-weights",
            str(pickle_file(c.tmp / "a.pt", c.tmp / "PWNED")),
            "-o",
            str(c.tmp / "avg.safetensors"),
        ],
        (
            "{tmp}/a.pt: not a readable safetensors checkpoint (Error while deserializing header: header "
            "too large)"
        ),
        marker=True,
    ),
    # ---------------------------------------------------------------- report
    Row(
        "report-missing-folder",
        lambda c: ["report", str(c.tmp / "none")],
        "{tmp}/none: not a folder (give an experiment folder or a work folder)",
    ),
    Row(
        "report-on-a-file",
        lambda c: ["report", str(c.trained["checkpoint"])],
        "{ckpt}: not a folder (give an experiment folder or a work folder)",
    ),
    Row(
        "report-bad-kind",
        lambda c: ["report", str(c.exp), "--kind", "everything"],
        (
            "command line: argument --kind: invalid choice: 'everything' (choose from 'auto', "
            "'experiment', 'work') (see 'medseg report --help')"
        ),
    ),
    # ---------------------------------------------------------------- demo flags
    Row(
        "demo-negative-budget",
        lambda c: ["demo", "--out", str(c.tmp / "demo"), "--time-budget", "-5"],
        (
            "command line: argument --time-budget: must be a number of seconds > 0, got '-5' (see "
            "'medseg demo --help')"
        ),
    ),
    Row(
        "demo-budget-not-a-number",
        lambda c: ["demo", "--out", str(c.tmp / "demo"), "--time-budget", "soon"],
        (
            "command line: argument --time-budget: invalid number of seconds: 'soon' (see 'medseg demo "
            "--help')"
        ),
    ),
    # ---------------------------------------------------------------- read-only output (every verb that writes)
    Row(
        "ro-analyze",
        lambda c: ["analyze", str(c.tmp / "data"), "-o", str(c.ro / "work"), *A],
        "{ro}/work: {ro_reason}",
        needs=("ro",),
        setup=lambda c: c.data,
    ),
    Row(
        "ro-preprocess",
        lambda c: ["preprocess", "-o", str(c.ro), "--config", str(c.work / "config.json"), *A],
        "{ro}/preprocessed: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-train",
        lambda c: ["train", "-o", str(_ro_experiments(c)), "--fold", "0", *TRAIN],
        "{tmp}/work_ro/experiments/SegmentationTrainer_fold0: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-run-all",
        lambda c: ["run-all", str(c.tmp / "data"), "-o", str(c.ro / "w"), *A],
        "{ro}/w: {ro_reason}",
        needs=("ro",),
        setup=lambda c: c.data,
    ),
    Row(
        "ro-predict",
        lambda c: ["predict", str(images_folder(c)), "-o", str(c.ro / "pred"), "-e", str(c.exp), "--no-tta"],
        "{ro}/pred/hippocampus_007.nii.gz: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-evaluate",
        lambda c: ["evaluate", str(c.trained["predictions"]), str(refs_folder(c)), "-o", str(c.ro / "m.csv")],
        "{ro}/m.csv: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-postprocess",
        lambda c: [
            "postprocess",
            str(c.trained["predictions"]),
            "-o",
            str(c.ro / "pp"),
            "--strategy",
            str(csv_file(c, '{"steps": []}', "s.json")),
        ],
        "{ro}/pp: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-convert-msd",
        lambda c: ["convert-msd", str(c.source), str(c.ro / "raw")],
        "{ro}/raw: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-convert-csv",
        lambda c: [
            "convert-csv",
            str(
                csv_of(
                    c,
                    [
                        (
                            str(c.source / "imagesTr" / f"{FIRST}.nii.gz"),
                            str(c.source / "labelsTr" / f"{FIRST}.nii.gz"),
                        )
                    ],
                )
            ),
            str(c.ro / "raw"),
        ],
        "{ro}/raw: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-average-weights",
        lambda c: ["average-weights", str(c.exp), "-o", str(c.ro / "avg.safetensors")],
        "{ro}/avg.safetensors: {ro_reason}",
        needs=("ro",),
    ),
    Row(
        "ro-report",
        lambda c: ["report", str(_ro_experiment(c))],
        "{tmp}/exp_ro/report.html: {ro_reason}",
        needs=("ro",),
    ),
    Row("ro-demo", lambda c: ["demo", "--out", str(c.ro / "demo")], "{ro}/demo: {ro_reason}", needs=("ro",)),
    Row(
        "demo-out-is-a-file",
        lambda c: ["demo", "--out", str(c.tmp / "f")],
        "{tmp}/f/fingerprint: Not a directory",
        setup=lambda c: (c.tmp / "f").write_text("x", encoding="utf-8"),
    ),
]


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


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_malformed_input(
    row: Row,
    tmp_path: Path,
    tiny_data: Path,
    trained: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    ctx = Ctx(tmp_path, tiny_data, trained)
    if "ro" in row.needs:
        ctx.ro = request.getfixturevalue("read_only_dir")
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
