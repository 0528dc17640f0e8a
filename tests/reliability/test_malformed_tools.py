"""Malformed inputs through the ``medseg`` command (one table row each): ``convert-msd``, ``convert-csv``, ``average-weights``, ``report``, ``demo``, and a read-only output folder for every verb that writes.

What every row asserts: :mod:`malformed_kit`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from malformed_kit import (
    FIRST,
    TRAIN,
    A,
    Row,
    _binary,
    _corrupt_ckpt,
    _ro_experiment,
    _ro_experiments,
    check_row,
    csv_file,
    csv_of,
    images_folder,
    other_plan_experiment,
    pickle_file,
    refs_folder,
    truncate,
)

ROWS: list[Row] = [
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


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_malformed_input(
    row: Row,
    tmp_path: Path,
    tiny_data: Path,
    trained: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    check_row(row, tmp_path, tiny_data, trained, capsys, request)
