"""Malformed inputs through the ``medseg`` command (one table row each): The dataset, the config and the flags: ``analyze`` and ``preprocess``.

What every row asserts: :mod:`malformed_kit`.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from malformed_kit import (
    FIRST,
    A,
    Row,
    _binary,
    _respaced,
    analyze,
    check_row,
    csv_file,
    empty_labels,
    image_array,
    msd_without,
    nan_image,
    remove_label_of_first,
    truncate,
    write_array,
    yaml_payload,
)

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
        "label-value-out-of-range",
        lambda c: analyze(c),
        "{tmp}/data/labelsTr/hippocampus_007.nii.gz: label value 1e+09 is out of range (label values are class "
        "values 0..65535)",
        setup=lambda c: write_array(c.label(), _huge_label(c.label()), like=c.label()),
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
            "inference, model, notes, preprocessing, spatial_config, tracking, training, version"
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


def _huge_label(path: Path) -> np.ndarray:
    """A label with one corrupt voxel of value 10^9 (its per-value tables would need gigabytes)."""
    array = image_array(path).astype(np.float32)
    array[0, 0, 0] = 1e9
    return array
