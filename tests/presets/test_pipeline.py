"""End to end on a few embedded sample cases: analyse, train, predict in source space, evaluate."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from medseg.data.sample import load_sample
from medseg.io import read_image
from medseg.presets.pipeline import analyze, predict_and_evaluate, train_fold


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    work = tmp_path_factory.mktemp("pipeline")
    dataset = load_sample()
    small = dataset.subset(sorted(dataset.case_ids)[:6])
    plan = analyze(small, work, workers=0, progress=False,
                   overrides={"patch_size": [16, 16, 16], "batch_size": 2, "network.params.features_base": 4})
    trainer, experiment = train_fold(small, plan, work, fold=0, n_folds=3, total_steps=4, steps_per_epoch=2,
                                     workers=0)
    return work, experiment, trainer


def test_experiment_folder_is_complete(trained: tuple[Path, Path, object]) -> None:
    _, experiment, _ = trained
    for name in ("checkpoints/latest.safetensors", "checkpoints/best.safetensors", "metrics.csv",
                 "training.log", "plan.json", "plots/progress.png", "plots/dice.png", "plots/lr.png",
                 "plots/losses.png", "plots/epoch_time.png", "previews/worst_case.png"):
        assert (experiment / name).is_file(), name
    rows = list(csv.DictReader((experiment / "metrics.csv").open(encoding="utf-8")))
    assert [int(float(r["epoch"])) for r in rows] == [0, 1]
    assert {"train_loss", "train_dice_loss", "train_ce", "lr", "val_score", "dice_Anterior",
            "dice_Posterior", "acc_dice_Anterior", "epoch_time"} <= set(rows[0])
    log = (experiment / "training.log").read_text(encoding="utf-8")
    assert "sanity check" in log and "MACs" in log and "worst first" in log


def test_predictions_keep_source_geometry_and_dice_matches_an_independent_count(
    trained: tuple[Path, Path, object],
) -> None:
    work, experiment, _ = trained
    dataset = load_sample()
    test = dataset.subset(sorted(dataset.case_ids)[-2:])
    means, csv_path = predict_and_evaluate(test, experiment, work / "pred", mirror_axes=())
    dices = {"Anterior": [], "Posterior": []}
    for case in test:
        pred = read_image(work / "pred" / f"{case.case_id}.nii.gz")
        assert pred.geometry == case.image.geometry
        assert pred.spatial_shape == case.image.spatial_shape
        for name, value in (("Anterior", 1), ("Posterior", 2)):
            p, r = pred.array[0] == value, case.label.array[0] == value
            denom = p.sum() + r.sum()
            dices[name].append(1.0 if denom == 0 else 2 * (p & r).sum() / denom)
    for name, values in dices.items():
        assert means[name] == pytest.approx(float(np.mean(values)))
    assert csv_path.is_file()
