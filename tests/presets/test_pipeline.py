"""End to end on a few embedded sample cases: analyse, train, predict in source space, evaluate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from medseg.config import Config, apply_overrides
from medseg.data.sample import load_sample
from medseg.io import read_image
from medseg.io.state import read_metadata
from medseg.presets.pipeline import analyze, make_evaluator, predict, train

TINY = {
    "spatial_config.patch_size": [16, 16, 16],
    "training.batch_size": 2,
    "model.params": {"features_base": 4},
    "training.epochs": 2,
    "training.steps_per_epoch": 2,
    "training.workers": 0,
    "preprocessing.workers": 0,
    "training.n_folds": 3,
    "inference.tta": False,
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Config]:
    work = tmp_path_factory.mktemp("pipeline")
    dataset = load_sample()
    small = dataset.subset(sorted(dataset.case_ids)[:6])
    config = analyze(small, apply_overrides(Config(), TINY), work, progress=False)
    experiment = train(small, config, work, fold=0, progress=False)
    return work, experiment, config


def test_experiment_folder_is_complete(trained: tuple[Path, Path, Config]) -> None:
    _, experiment, _ = trained
    for name in (
        "checkpoints/latest.safetensors",
        "checkpoints/best.safetensors",
        "metrics.csv",
        "training.log",
        "plan.json",
        "config.json",
        "plots/progress.png",
        "plots/dice.png",
        "plots/lr.png",
        "plots/losses.png",
        "plots/epoch_time.png",
        "previews/worst_case.png",
        "validation/cases.csv",
    ):
        assert (experiment / name).is_file(), name
    rows = list(csv.DictReader((experiment / "metrics.csv").open(encoding="utf-8")))
    assert len(rows) == 2
    assert {
        "train_loss",
        "train_dice_loss",
        "train_ce",
        "lr",
        "val_score",
        "dice_Anterior",
        "dice_Posterior",
        "acc_dice_Anterior",
        "epoch_time",
        "val_time",
    } <= set(rows[0])
    log = (experiment / "training.log").read_text(encoding="utf-8")
    assert "sanity check" in log and "MACs" in log and "worst first" in log


def test_the_checkpoint_holds_exactly_one_model_description_and_it_is_the_plan(
    trained: tuple[Path, Path, Config],
) -> None:
    _, experiment, config = trained
    meta = read_metadata(experiment / "checkpoints" / "latest.safetensors")
    descriptions = {k for k in meta if k not in ("format", "trainer", "kind", "medseg_state")}
    assert descriptions == {"plan"}
    plan = json.loads(meta["plan"])
    assert plan["network"] == {
        "name": "unet",
        "params": config.model.params,
        "deep_supervision": True,
        "activation": "softmax",
    }
    assert plan["patch_size"] == [16, 16, 16]


def test_predictions_keep_source_geometry_and_dice_matches_an_independent_count(
    trained: tuple[Path, Path, Config],
    tmp_path: Path,
) -> None:
    _, experiment, config = trained
    dataset = load_sample()
    test = dataset.subset(sorted(dataset.case_ids)[-2:])
    predicted = predict(config, [experiment], test, tmp_path / "pred")
    means = make_evaluator(config, progress=False).evaluate_dataset(test, predicted).mean_metrics
    dices: dict[str, list[float]] = {"Anterior": [], "Posterior": []}
    for case in test:
        pred = read_image(tmp_path / "pred" / f"{case.case_id}.nii.gz")
        assert pred.geometry == case.image.geometry
        assert pred.spatial_shape == case.image.spatial_shape
        for name, value in (("Anterior", 1), ("Posterior", 2)):
            p, r = pred.array[0] == value, case.label.array[0] == value
            denom = p.sum() + r.sum()
            dices[name].append(1.0 if denom == 0 else 2 * (p & r).sum() / denom)
    for name, values in dices.items():
        assert means[f"{name}/dice"] == pytest.approx(float(np.mean(values)))


def test_the_prediction_reserve_counts_the_mirror_passes(trained: tuple[Path, Path, Config]) -> None:
    """``run_fold`` keeps back one validation's time per TTA pass (x the margin) for predicting."""
    from medseg.presets.pipeline import PREDICTION_MARGIN, prediction_reserve

    _, _, config = trained  # a 3-D plan with TTA off
    assert prediction_reserve(config) == pytest.approx(1 * PREDICTION_MARGIN)
    every_axis = apply_overrides(config, {"inference.tta": True})
    assert prediction_reserve(every_axis) == pytest.approx(8 * PREDICTION_MARGIN)
    two_axes = apply_overrides(config, {"inference.tta": True, "inference.mirror_axes": [0, 2]})
    assert prediction_reserve(two_axes) == pytest.approx(4 * PREDICTION_MARGIN)
    # the demo predicts 8 held-out cases after validating on 7: the reserve scales with the cases
    assert prediction_reserve(every_axis, cases_ratio=8 / 7) == pytest.approx(8 * PREDICTION_MARGIN * 8 / 7)


def test_the_loop_budget_is_what_is_left_less_a_fixed_overhead(monkeypatch: pytest.MonkeyPatch) -> None:
    """``loop_budget``: the whole budget less the time already spent and the overhead, floored."""
    from medseg.presets import pipeline

    now = [1000.0]
    monkeypatch.setattr(pipeline.time, "perf_counter", lambda: now[0])
    start = 1000.0
    now[0] = start + 40.0  # analysis and preprocessing took 40 s
    assert pipeline.loop_budget(480.0, start, 18.0) == pytest.approx(480.0 - 40.0 - 18.0)
    # the overhead does not grow with the budget (the demo's old 4 % share did)
    assert pipeline.loop_budget(960.0, start, 18.0) - pipeline.loop_budget(480.0, start, 18.0) == (
        pytest.approx(480.0)
    )
    now[0] = start + 470.0  # planning ate the budget: the loop still gets its floor
    assert pipeline.loop_budget(480.0, start, 18.0) == pipeline.MIN_LOOP_BUDGET_S
