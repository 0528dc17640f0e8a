"""The ``medseg`` command end to end on 6 hippocampus cases of the embedded sample, then every verb."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from medseg.cli.main import build_parser, main
from medseg.config import config_to_plan, load_config
from medseg.data.sample import copy_sample

TINY = [
    "--n-folds",
    "3",
    "--epochs",
    "2",
    "--steps-per-epoch",
    "2",
    "--features-base",
    "8",
    "--patch-size",
    "16",
    "16",
    "16",
    "--batch-size",
    "2",
    "--no-tta",
    "--set",
    "training.workers=0",
]
VERBS = [
    "analyze",
    "preprocess",
    "train",
    "run-all",
    "predict",
    "ensemble",
    "evaluate",
    "postprocess",
    "convert-msd",
    "convert-csv",
    "average-weights",
    "demo",
]


def planned_ids(data: Path) -> list[str]:
    return [
        Path(e["image"]).name.removesuffix(".nii.gz")
        for e in json.loads((data / "dataset.json").read_text(encoding="utf-8"))["training"]
    ]


def read(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = copy_sample(root / "data", 6)
    work = root / "work"
    assert main(["run-all", str(data), "-o", str(work), "--folds", "0", "--workers", "0", *TINY]) == 0
    return {"root": root, "data": data, "work": work}


def test_every_verb_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for verb in VERBS:
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args([verb, "--help"])
        assert info.value.code == 0
        assert f"usage: medseg {verb}" in capsys.readouterr().out


def test_run_all_writes_the_documented_layout(run: dict[str, Path]) -> None:
    work = run["work"]
    config = load_config(work / "config.json")
    assert config.training.epochs == 2 and config.spatial_config.patch_size == [16, 16, 16]
    assert config.model.params is not None and config.model.params["features_base"] == 8
    assert config.dataset_info.labels == {"background": 0, "Anterior": 1, "Posterior": 2}
    folds = json.loads((work / "folds.json").read_text(encoding="utf-8"))
    val_ids = sorted(k for k, v in folds.items() if v == 0)
    predicted = sorted(p.name.removesuffix(".nii.gz") for p in (work / "predictions" / "fold_0").iterdir())
    assert predicted == val_ids
    for case_id in val_ids:  # predictions in the source geometry
        pred = sitk.ReadImage(str(work / "predictions" / "fold_0" / f"{case_id}.nii.gz"))
        ref = sitk.ReadImage(str(run["data"] / "labelsTr" / f"{case_id}.nii.gz"))
        assert pred.GetSize() == ref.GetSize()
        assert np.allclose(pred.GetSpacing(), ref.GetSpacing()) and np.allclose(
            pred.GetOrigin(), ref.GetOrigin()
        )
    table = pd.read_csv(work / "evaluation" / "fold_0.csv")
    summary = json.loads((work / "evaluation" / "cv_summary.json").read_text(encoding="utf-8"))
    assert summary["mean"]["Anterior/dice"] == pytest.approx(table["Anterior/dice"].mean())
    experiment = Path(summary["folds"]["0"]["experiment"])
    assert load_config(experiment / "config.json") == config


def test_checkpoint_plan_is_the_config_plan(run: dict[str, Path]) -> None:
    from medseg.io.state import read_metadata

    config = load_config(run["work"] / "config.json")
    experiment = next((run["work"] / "experiments" / "SegmentationTrainer_fold0").iterdir())
    meta = read_metadata(experiment / "checkpoints" / "latest.safetensors")
    assert json.loads(meta["plan"]) == config_to_plan(config).model_dump(mode="json")


def test_evaluate_matches_a_hand_computed_dice(run: dict[str, Path], tmp_path: Path) -> None:
    preds = run["work"] / "predictions" / "fold_0"
    refs = tmp_path / "refs"
    refs.mkdir()
    for p in preds.iterdir():
        shutil.copy(run["data"] / "labelsTr" / p.name, refs / p.name)
    out = tmp_path / "eval" / "metrics.csv"
    assert (
        main(
            [
                "evaluate",
                str(preds),
                str(refs),
                "-o",
                str(out),
                "--metric",
                "dice",
                "--region",
                "Anterior=1",
                "--region",
                "whole=1,2",
                "--workers",
                "0",
            ]
        )
        == 0
    )
    table = pd.read_csv(out).set_index("case_id")
    for p in preds.iterdir():
        pred, ref = read(p), read(refs / p.name)
        for name, labels in {"Anterior": [1], "whole": [1, 2]}.items():
            a, b = np.isin(pred, labels), np.isin(ref, labels)
            expected = 2 * (a & b).sum() / (a.sum() + b.sum())
            row = table.loc[p.name.removesuffix(".nii.gz")]
            assert row[f"{name}/dice"] == pytest.approx(expected)
    assert load_config(out.parent / "config.json").evaluation.regions == {"Anterior": [1], "whole": [1, 2]}


def test_predict_and_ensemble_reproduce_the_run_all_predictions(run: dict[str, Path], tmp_path: Path) -> None:
    work, preds = run["work"], run["work"] / "predictions" / "fold_0"
    images = tmp_path / "images"
    images.mkdir()
    for p in preds.iterdir():
        shutil.copy(run["data"] / "imagesTr" / p.name, images / p.name)
    experiment = next((work / "experiments" / "SegmentationTrainer_fold0").iterdir())
    assert (
        main(["predict", str(images), "-o", str(tmp_path / "single"), "-e", str(experiment), "-w", str(work)])
        == 0
    )
    assert (
        main(
            [
                "ensemble",
                str(images),
                "-o",
                str(tmp_path / "twice"),
                "-e",
                str(experiment),
                "-e",
                str(experiment),
                "-w",
                str(work),
            ]
        )
        == 0
    )
    assert (
        main(["ensemble", str(images), "-o", str(tmp_path / "folds"), "-w", str(work)]) == 0
    )  # every trained fold
    for p in preds.iterdir():
        for out in ("single", "twice", "folds"):
            np.testing.assert_array_equal(read(tmp_path / out / p.name), read(p))
    assert load_config(tmp_path / "single" / "config.json").inference.tta is False


def test_postprocess_chooses_then_applies_a_strategy(run: dict[str, Path], tmp_path: Path) -> None:
    from medseg.inference.postprocessing_strategy import PostprocessingStrategy

    preds = run["work"] / "predictions" / "fold_0"
    all_refs = run["data"] / "labelsTr"  # more references than predictions: the extra ones are ignored
    assert (
        main(["postprocess", str(preds), "-o", str(tmp_path / "chosen"), "--reference", str(all_refs)]) == 0
    )
    strategy_file = tmp_path / "chosen" / "postprocessing.json"
    strategy = PostprocessingStrategy.load(strategy_file)
    assert (
        main(
            [
                "postprocess",
                str(preds),
                "-o",
                str(tmp_path / "applied"),
                "--strategy",
                str(strategy_file),
                "--workers",
                "0",
            ]
        )
        == 0
    )
    for p in preds.iterdir():
        expected = strategy.apply(read(p))
        np.testing.assert_array_equal(read(tmp_path / "applied" / "postprocessed" / p.name), expected)
        np.testing.assert_array_equal(read(tmp_path / "chosen" / "postprocessed" / p.name), expected)

    def mean_dice(folder: Path) -> float:  # per class over cases, NaN where a class is absent from both
        scores = []
        for c in (1, 2):
            per_case = []
            for p in preds.iterdir():
                a, b = read(folder / p.name) == c, read(all_refs / p.name) == c
                if a.sum() + b.sum():
                    per_case.append(2 * (a & b).sum() / (a.sum() + b.sum()))
            scores.append(np.mean(per_case))
        return float(np.mean(scores))

    assert mean_dice(tmp_path / "chosen" / "postprocessed") >= mean_dice(preds)


def test_average_weights_of_identical_folds_is_the_fold(run: dict[str, Path], tmp_path: Path) -> None:
    import torch

    from medseg.io.state import load_state

    experiment = next((run["work"] / "experiments" / "SegmentationTrainer_fold0").iterdir())
    out = tmp_path / "avg.safetensors"
    assert (
        main(["average-weights", str(experiment), str(experiment), "-o", str(out), "--checkpoint", "latest"])
        == 0
    )
    averaged, meta = load_state(out)
    original, original_meta = load_state(experiment / "checkpoints" / "latest.safetensors")
    assert meta["plan"] == original_meta["plan"]
    assert set(averaged["weights"]) == set(original["weights"])
    for key, tensor in original["weights"].items():
        assert torch.equal(averaged["weights"][key], tensor)


def test_stages_one_by_one_with_resume(run: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "work"
    tiny = [a for a in TINY if a != "--no-tta"]
    assert (
        main(
            [
                "analyze",
                str(run["data"]),
                "-o",
                str(work),
                "--workers",
                "0",
                "--patch-size",
                "16",
                "16",
                "16",
                "--features-base",
                "8",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    planned = load_config(work / "config.json")
    assert planned.spatial_config.patch_size == [16, 16, 16] and planned.training.batch_size == 2
    assert not (work / "plan.json").exists()  # the Plan lives in config.json only
    assert main(["preprocess", "-o", str(work), "--workers", "0"]) == 0
    from medseg.data.preprocessing import PreprocessedDataset

    assert len(PreprocessedDataset(work / "preprocessed", sorted(planned_ids(run["data"])))) == 6
    args = [
        "train",
        "-o",
        str(work),
        "--fold",
        "1",
        *tiny[:2],
        "--steps-per-epoch",
        "1",
        "--set",
        "training.workers=0",
    ]
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    runs = list((work / "experiments" / "SegmentationTrainer_fold1").iterdir())
    assert len(runs) == 1
    assert pd.read_csv(runs[0] / "metrics.csv")["epoch"].tolist() == [1, 2]  # epochs counted from 1
    assert load_config(work / "config.json").training.epochs == 2


def test_convert_msd_and_csv_write_the_nnunet_raw_layout(run: dict[str, Path], tmp_path: Path) -> None:
    from medseg.data.datasets import MSDDataset, NNUNetDataset

    msd = MSDDataset(run["data"])
    assert main(["convert-msd", str(run["data"]), str(tmp_path / "raw")]) == 0
    table = tmp_path / "cases.csv"
    pd.DataFrame(
        {
            "image": [str(run["data"] / "imagesTr" / f"{c}.nii.gz") for c in msd.case_ids],
            "label": [str(run["data"] / "labelsTr" / f"{c}.nii.gz") for c in msd.case_ids],
        }
    ).to_csv(table, index=False)
    assert main(["convert-csv", str(table), str(tmp_path / "raw_csv")]) == 0
    for folder in ("raw", "raw_csv"):
        converted = NNUNetDataset(tmp_path / folder)
        assert sorted(converted.case_ids) == sorted(msd.case_ids)
        for case_id in msd.case_ids:
            a, b = msd.case(case_id), converted.case(case_id)
            np.testing.assert_array_equal(a.image.array, b.image.array)
            assert a.label is not None and b.label is not None
            np.testing.assert_array_equal(a.label.array, b.label.array)
            assert np.allclose(a.image.geometry.spacing, b.image.geometry.spacing)
    assert NNUNetDataset(tmp_path / "raw").labels == {0: "background", 1: "Anterior", 2: "Posterior"}
