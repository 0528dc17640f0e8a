"""Malformed inputs through the ``medseg`` command (one table row each): ``predict``, ``ensemble``, ``evaluate`` and ``postprocess``.

What every row asserts: :mod:`malformed_kit`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import SimpleITK as sitk
from malformed_kit import (
    FIRST,
    Row,
    _binary,
    _corrupt_ckpt,
    _earlier_csv,
    _nan_input,
    _nan_label,
    _plain_safetensors,
    _respaced,
    _two_channel_input,
    _unrelated_refs,
    check_row,
    csv_file,
    image_array,
    images_folder,
    other_plan_experiment,
    pickle_file,
    predict,
    preds_copy,
    refs_folder,
    write_array,
)

ROWS: list[Row] = [
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
            "{tmp}/empty: no images found (looked for .nii.gz, .nii, .mha, .mhd, .nrrd, .nhdr, .png, .jpg, "
            ".jpeg, .tif, .tiff, .bmp, .gif files and DICOM series)"
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
            "config key 'evaluation.metrics.0' = 'accuracy' is invalid: unknown metric 'accuracy'; available: "
            "assd, cldice, dice, hd, hd95, iou, lesion_detection_rate, lesion_dice, lesion_hd95, lesion_nsd, nsd, "
            "precision, recall, relative_volume_error, sensitivity, specificity"
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
