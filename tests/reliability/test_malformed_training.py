"""Malformed inputs through the ``medseg`` command (one table row each): ``train`` and ``run-all``: broken caches, checkpoints, folds and flags.

What every row asserts: :mod:`malformed_kit`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from malformed_kit import (
    FIRST,
    TRAIN,
    Row,
    _latest,
    _move_source,
    _planned_copy,
    check_row,
    csv_of,
    flip_tensor_byte,
    truncate,
)

ROWS: list[Row] = [
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
        "train-device-cuda-without-cuda",
        lambda c: ["train", "-o", str(c.work_copy()), "--fold", "0", *TRAIN, "--device", "cuda"],
        "training.device = 'cuda': no CUDA device is available on this machine; valid choices here: 'auto', 'cpu'",
        needs=("no-cuda",),
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
            "is not a number of mm"
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
