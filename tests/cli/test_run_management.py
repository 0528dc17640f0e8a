"""Run management never loses work or lies: each test fails on the code before the Plan refactor.

* extending a finished run continues at the stretched schedule's learning rate (not at 0);
* a run that fails before its first checkpoint leaves nothing that ``predict -w``/``--resume`` pick up;
* a failed command never rewrites WORK/config.json;
* unknown names in a config (metric, loss, network, region label) are refused when it is loaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from medseg.cli.main import main
from medseg.data.sample import copy_sample

TINY = [
    "--n-folds",
    "3",
    "--steps-per-epoch",
    "2",
    "--features-base",
    "4",
    "--patch-size",
    "16",
    "16",
    "16",
    "--batch-size",
    "2",
    "--no-tta",
    "--set",
    "training.workers=0",
    "--workers",
    "0",
]


def _runs(work: Path) -> list[Path]:
    return sorted((work / "experiments" / "SegmentationTrainer_fold0").glob("*/"))


def test_extending_a_finished_run_stretches_the_learning_rate_schedule(tmp_path: Path) -> None:
    data, work = copy_sample(tmp_path / "data", 6), tmp_path / "work"
    assert main(["run-all", str(data), "-o", str(work), "--folds", "0", "--epochs", "2", *TINY]) == 0
    (run,) = _runs(work)
    before = pd.read_csv(run / "metrics.csv")
    assert before["lr"].iloc[-1] == pytest.approx(0.0, abs=1e-12)  # the poly schedule ended at 0
    assert (
        main(
            [
                "train",
                "-o",
                str(work),
                "--fold",
                "0",
                "--epochs",
                "4",
                "--resume",
                "--set",
                "training.workers=0",
            ]
        )
        == 0
    )
    after = pd.read_csv(run / "metrics.csv")
    assert len(after) == 4
    steps_per_epoch, base = 2, 1e-2
    for epoch in (2, 3):  # the LR at the end of epochs 3 and 4 of a 4-epoch poly schedule
        step = (epoch + 1) * steps_per_epoch
        assert after["lr"].iloc[epoch] == pytest.approx(
            base * (1 - step / (4 * steps_per_epoch)) ** 0.9, abs=1e-12
        )
    assert after["lr"].iloc[2] > 1e-3


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, work = copy_sample(tmp_path / "data", 6), tmp_path / "work"
    assert main(["run-all", str(data), "-o", str(work), "--folds", "0", "--epochs", "1", *TINY]) == 0
    (good,) = _runs(work)
    config_before = (work / "config.json").read_bytes()
    # the network cannot be built (hidden size not a multiple of the heads): fails inside the trainer
    code = main(
        [
            "train",
            "-o",
            str(work),
            "--fold",
            "0",
            "--epochs",
            "1",
            "--model",
            "unetr",
            "--patch-size",
            "16",
            "16",
            "16",
            "--set",
            "model.params={hidden_size: 30, num_heads: 4, features_base: 4}",
            "--set",
            "training.workers=0",
        ]
    )
    assert code == 2
    assert "hidden_size=30 must be a multiple of num_heads=4" in capsys.readouterr().err
    assert _runs(work) == [good]  # the failed run's folder is gone
    assert (work / "config.json").read_bytes() == config_before  # and its flags were not saved
    assert (
        main(["predict", str(data / "imagesTr"), "-o", str(tmp_path / "pred"), "-w", str(work), "--no-tta"])
        == 0
    )
    assert len(list((tmp_path / "pred").glob("*.nii.gz"))) == 6


def test_a_stale_folder_without_checkpoint_is_never_picked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, work = copy_sample(tmp_path / "data", 6), tmp_path / "work"
    assert main(["run-all", str(data), "-o", str(work), "--folds", "0", "--epochs", "1", *TINY]) == 0
    # a killed process cannot clean up: an empty run folder, newer than the good one
    stale = work / "experiments" / "SegmentationTrainer_fold0" / "99991231-235959-dead00"
    (stale / "checkpoints").mkdir(parents=True)
    assert (
        main(["predict", str(data / "imagesTr"), "-o", str(tmp_path / "pred"), "-w", str(work), "--no-tta"])
        == 0
    )
    assert "99991231" not in capsys.readouterr().out
    assert (
        main(
            [
                "train",
                "-o",
                str(work),
                "--fold",
                "0",
                "--epochs",
                "2",
                "--resume",
                "--set",
                "training.workers=0",
            ]
        )
        == 0
    )
    assert not (stale / "metrics.csv").exists()


def test_a_failed_command_never_rewrites_the_work_config(tmp_path: Path) -> None:
    data, work = copy_sample(tmp_path / "data", 6), tmp_path / "work"
    assert main(["run-all", str(data), "-o", str(work), "--folds", "0", "--epochs", "1", *TINY]) == 0
    before = (work / "config.json").read_bytes()
    assert (
        main(["train", "-o", str(work), "--fold", "0", "--epochs", "7", "--lr", "0.5", "--device", "cuda:7"])
        == 2
    )
    assert main(["preprocess", "-o", str(work), "--data", str(tmp_path / "missing")]) == 2
    assert (work / "config.json").read_bytes() == before


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "evaluation.metrics=[dice, nsd@abc]",
            "config key 'evaluation.metrics.1' = 'nsd@abc' is invalid: metric "
            "'nsd@abc': tolerance 'abc' is not a number of mm",
        ),
        (
            "evaluation.metrics=[dcie]",
            "config key 'evaluation.metrics.0' = 'dcie' is invalid: unknown metric 'dcie'",
        ),
        (
            "model.name=unet3d",
            "config key 'model.name' = 'unet3d' is invalid; valid choices: cmunext, fmgnet, ",
        ),
        (
            "model.params={featurs_base: 8}",
            "config key 'model.params': network 'unet': unknown parameter 'featurs_base'",
        ),
        ("training.loss=dice_bce", "training.loss: unknown loss 'dice_bce'; valid: boundary, "),
        (
            "evaluation.regions={whole: [1, 7]}",
            "config key 'evaluation.regions.whole' names label value(s) [7] that "
            "are not in dataset_info.labels; valid values: [0, 1, 2]",
        ),
    ],
)
def test_unknown_names_are_refused_when_the_config_is_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str
) -> None:
    data, work = copy_sample(tmp_path / "data", 6), tmp_path / "work"
    extra = ["--set", "dataset_info.labels={background: 0, a: 1, b: 2}"] if "regions" in setting else []
    code = main(["run-all", str(data), "-o", str(work), "--epochs", "1", *TINY, *extra, "--set", setting])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert message in err
    assert (
        not (work / "experiments").exists() and not (work / "config.json").exists()
    )  # refused before any work
