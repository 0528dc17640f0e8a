"""Bad config files and bad flags: exit status 2 and exactly one line on stderr naming key, value, choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from medseg.cli.main import main
from medseg.config import Training

TRAINING_KEYS = ", ".join(sorted(Training.model_fields))  # the message lists every key of the section

# (file name, file content, the error line after "medseg: error: <file>: ")
BAD_FILES = [
    (
        "top.json",
        '{"trainingg": {}}',
        "unknown key 'trainingg'; valid keys here: dataset_info, evaluation, "
        "inference, model, notes, preprocessing, spatial_config, tracking, training, version",
    ),
    (
        "nested.json",
        '{"training": {"lrr": 0.1}}',
        f"unknown key 'training.lrr'; valid keys here: {TRAINING_KEYS}",
    ),
    (
        "opt.json",
        '{"training": {"optimizer": "sgdd"}}',
        "key 'training.optimizer' = 'sgdd' is invalid; valid choices: 'sgd', 'adamw' or 'adam'",
    ),
    ("lr.yaml", "training: {lr: -1}", "key 'training.lr' = -1 is invalid; valid choices: a number > 0.0"),
    (
        "folds.json",
        '{"training": {"folds": [7]}}',
        "key 'training.folds' = [7] is invalid; valid choices: fold numbers 0..4 (n_folds is 5) or 'all'",
    ),
    (
        "ds.yml",
        "model:\n  deep_supervision: maybe\n",
        "key 'model.deep_supervision' = 'maybe' is invalid; valid choices: true or false",
    ),
    (
        "overlap.json",
        '{"inference": {"overlap": 1.0}}',
        "key 'inference.overlap' = 1.0 is invalid; valid choices: a number < 1.0",
    ),
    (
        "blend.json",
        '{"inference": {"blend": "mean"}}',
        "key 'inference.blend' = 'mean' is invalid; valid choices: 'gaussian', 'hann' or 'constant'",
    ),
    ("version.json", '{"version": 2}', "key 'version' = 2 is invalid; valid choices: 1"),
    (
        "dims.json",
        '{"spatial_config": {"spatial_dims": 4}}',
        "key 'spatial_config.spatial_dims' = 4 is invalid; valid choices: 2 or 3",
    ),
    (
        "metrics.json",
        '{"evaluation": {"metrics": []}}',
        "key 'evaluation.metrics' = [] is invalid; valid choices: a list of at least 1 entries",
    ),
    (
        "norm.json",
        '{"preprocessing": {"normalization": [{"scheme": "foo"}]}}',
        "key 'preprocessing.normalization.0.scheme' = 'foo' is invalid; valid choices: 'ct', 'zscore', "
        "'zscore_nonzero', 'minmax' or 'none'",
    ),
    (
        "patch.json",
        '{"spatial_config": {"patch_size": [16, "a", 16]}}',
        "key 'spatial_config.patch_size.1' = 'a' is invalid; valid choices: an integer",
    ),
    ("broken.json", '{"training": ', "not valid JSON (Expecting value at line 1)"),
    (
        "broken.yaml",
        "training: [1, 2",
        "not valid YAML (expected ',' or ']', but got '<stream end>' at line 1)",
    ),
    ("list.json", "[1, 2]", "the document must be a mapping of sections, got list"),
]

# (extra arguments of `medseg run-all DATA -o OUT`, the whole error line)
BAD_FLAGS = [
    (
        ["--optimizer", "rmsprop"],
        "command line: key 'training.optimizer' = 'rmsprop' is invalid; valid choices: 'sgd', 'adamw' or 'adam'",
    ),
    (
        ["--amp", "fp8"],
        "command line: key 'training.amp' = 'fp8' is invalid; valid choices: 'auto', 'off', 'fp16' or 'bf16'",
    ),
    (
        ["--lr-scheduler", "step"],
        "command line: key 'training.lr_scheduler' = 'step' is invalid; valid choices: "
        "'poly', 'cosine', 'constant' or 'onecycle'",
    ),
    (
        ["--loss", "focal"],
        "training.loss: unknown loss 'focal'; valid: boundary, ce_weighted, cldice, dice, dice_ce, "
        "dice_focal, dice_weighted, gsl, hausdorff_dt, tversky",
    ),
    (["--epochs", "0"], "command line: key 'training.epochs' = 0 is invalid; valid choices: a number >= 1"),
    (
        ["--patch-size", "0", "16", "16"],
        "command line: key 'spatial_config.patch_size.0' = 0 is invalid; valid choices: a number > 0",
    ),
    (
        ["--folds", "5", "--n-folds", "3"],
        "command line: key 'training.folds' = [5] is invalid; valid choices: fold numbers 0..2 (n_folds is 3) or 'all'",
    ),
    (
        ["--folds", "x"],
        "command line: key 'training.folds' = ['x'] is invalid; valid choices: fold numbers or 'all'",
    ),
    (
        ["--set", "training.nope=1"],
        f"command line: unknown key 'training.nope'; valid keys here: {TRAINING_KEYS}",
    ),
    (["--set", "badform"], "command line: --set 'badform' is invalid; valid form: KEY=VALUE"),
    (["--set", "model.name=3"], "command line: key 'model.name' = 3 is invalid; valid choices: a string"),
    (
        ["--device", "tpu"],
        "command line: key 'training.device' = 'tpu' is invalid; valid choices: 'auto', 'cpu' or 'cuda'",
    ),
]


def _error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("medseg: error: ")
    return err.removeprefix("medseg: error: ").rstrip("\n")


@pytest.mark.parametrize(("name", "content", "expected"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    line = _error_line(
        capsys, ["analyze", str(tmp_path / "data"), "-o", str(tmp_path / "out"), "--config", str(path)]
    )
    assert line == f"{path}: {expected}"


@pytest.mark.parametrize(("flags", "expected"), BAD_FLAGS, ids=[" ".join(f[0]) for f in BAD_FLAGS])
def test_bad_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:
    assert (
        _error_line(capsys, ["run-all", str(tmp_path / "data"), "-o", str(tmp_path / "out"), *flags])
        == expected
    )


def test_other_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.json"
    cases = [
        (
            ["analyze", str(tmp_path / "d"), "-o", str(tmp_path), "--config", str(missing)],
            f"{missing}: cannot read config (No such file or directory)",
        ),
        (
            ["run-all", str(tmp_path / "nope"), "-o", str(tmp_path / "o")],
            f"{tmp_path / 'nope'}: dataset not found",
        ),
        (
            ["train", "-o", str(tmp_path / "o2")],
            "config key 'dataset_info.source' is not set; give the dataset folder or table",
        ),
        (
            ["train", "-o", str(tmp_path / "o3"), "--fold", "x"],
            "command line: --fold 'x' is invalid; valid choices: a fold number, 'all' or 'configured'",
        ),
        (
            ["predict", str(tmp_path), "-o", str(tmp_path / "p")],
            "command line: give --experiment EXP (repeatable) or --work WORK",
        ),
        (
            ["evaluate", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "e.csv"), "--region", "bad"],
            "command line: --region 'bad' is invalid; valid form: NAME=LABEL[,LABEL...]",
        ),
        (
            ["postprocess", str(tmp_path), "-o", str(tmp_path / "pp")],
            "command line: postprocess needs --reference REF (choose) or --strategy JSON (apply)",
        ),
    ]
    for argv, expected in cases:
        assert _error_line(capsys, argv) == expected
