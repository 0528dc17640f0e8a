"""Every registered loss trains end to end from the CLI (``--loss NAME``), softmax and region-based."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from medseg.cli.main import main
from medseg.data.sample import sample_path
from medseg.losses import available_losses, composite_losses

TINY = [
    "--epochs",
    "1",
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
    "--n-folds",
    "2",
    "--workers",
    "0",
    "--set",
    "training.workers=0",
]


def _copy(out: Path, nnunet_regions: bool) -> Path:
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    entries = meta["training"][:4]
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir(parents=True)
    if not nnunet_regions:
        meta["training"], meta["numTraining"] = entries, 4
        for entry in entries:
            for key in ("image", "label"):
                shutil.copy(sample_path() / entry[key], out / entry[key])
        (out / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
        return out
    for entry in entries:
        case = Path(entry["image"]).name.removesuffix(".nii.gz")
        shutil.copy(sample_path() / entry["image"], out / "imagesTr" / f"{case}_0000.nii.gz")
        shutil.copy(sample_path() / entry["label"], out / "labelsTr" / f"{case}.nii.gz")
    (out / "dataset.json").write_text(
        json.dumps(
            {
                "channel_names": {"0": "MRI"},
                "labels": {"background": 0, "whole": [1, 2], "posterior": [2]},
                "regions_class_order": [1, 2],
                "numTraining": 4,
                "file_ending": ".nii.gz",
            }
        ),
        encoding="utf-8",
    )
    return out


@pytest.fixture(scope="module")
def softmax_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("softmax"), False)


@pytest.fixture(scope="module")
def region_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("regions"), True)


def _components(work: Path) -> set[str]:
    run = next((work / "experiments" / "SegmentationTrainer_fold0").iterdir())
    return {
        c for c in pd.read_csv(run / "metrics.csv").columns if c.startswith("train_") and c != "train_loss"
    }


@pytest.mark.parametrize("name", available_losses())
def test_every_loss_trains_from_the_cli(name: str, softmax_data: Path, tmp_path: Path) -> None:
    extra = ["--composite-weighting", "linear"] if name in composite_losses() else []
    assert main(["run-all", str(softmax_data), "-o", str(tmp_path / "w"), "--loss", name, *extra, *TINY]) == 0
    assert load_loss(tmp_path / "w") == name
    assert _components(tmp_path / "w")  # the loss's terms are logged


@pytest.mark.parametrize("name", ["dice_ce", "boundary", "cldice", "hausdorff_dt", "gsl", "tversky"])
def test_losses_train_region_based_outputs(name: str, region_data: Path, tmp_path: Path) -> None:
    assert main(["run-all", str(region_data), "-o", str(tmp_path / "w"), "--loss", name, *TINY]) == 0
    summary = json.loads((tmp_path / "w" / "evaluation" / "cv_summary.json").read_text(encoding="utf-8"))
    assert {"whole/dice", "posterior/dice"} <= set(summary["mean"])


def load_loss(work: Path) -> str:
    return str(json.loads((work / "config.json").read_text(encoding="utf-8"))["training"]["loss"])
