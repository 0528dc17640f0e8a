"""``medseg run-all DATA`` on every kind of dataset of ../shared/data, through the CLI, tiny budgets.

Each run trains, predicts the validation cases and evaluates them. The assertions are what a user of
that dataset checks: the dataset is recognised without flags, label values are discovered and written
back as they came (0/255 in, 0/255 out), predictions take the input's format and grid, 2D data get a
2D plan, anisotropic data an anisotropic one, and a subset of CT classes is trained as asked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from PIL import Image as PILImage

from medseg.cli.main import main
from medseg.config import load_config
from medseg.data.sample import sample_path

TINY_2D = [
    "--epochs",
    "1",
    "--steps-per-epoch",
    "2",
    "--features-base",
    "4",
    "--patch-size",
    "64",
    "64",
    "--batch-size",
    "2",
    "--no-tta",
    "--n-folds",
    "3",
    "--set",
    "training.workers=0",
    "--workers",
    "0",
]


def _run(data: Path, work: Path, *extra: str) -> dict[str, float]:
    assert main(["run-all", str(data), "-o", str(work), *extra]) == 0
    summary = json.loads((work / "evaluation" / "cv_summary.json").read_text(encoding="utf-8"))
    assert summary["mean"] and all(np.isfinite(v) for v in summary["mean"].values())
    return summary["mean"]


def _val_ids(work: Path) -> list[str]:
    folds = json.loads((work / "folds.json").read_text(encoding="utf-8"))
    return sorted(k for k, v in folds.items() if v == 0)


def _copy_cases(source: Path, target: Path, names: dict[str, list[str]]) -> Path:
    for folder, files in names.items():
        (target / folder).mkdir(parents=True)
        for name in files:
            shutil.copy(source / folder / name, target / folder / name)
    return target


def test_drive_rgb_tiff_with_gif_labels(shared_data: Path, tmp_path: Path) -> None:
    ids = [21, 22, 23, 24, 25, 26]
    data = _copy_cases(
        shared_data / "DRIVE" / "training",
        tmp_path / "DRIVE" / "training",
        {
            "images": [f"{i}_training.tif" for i in ids],
            "1st_manual": [f"{i}_manual1.gif" for i in ids],
            "mask": [f"{i}_training_mask.gif" for i in ids],
        },
    )
    work = tmp_path / "work"
    means = _run(data.parent, work, *TINY_2D)  # the DRIVE folder itself: training/ is found
    config = load_config(work / "config.json")
    assert config.spatial_config.spatial_dims == 2 and config.dataset_info.channel_names == [
        "channel0",
        "channel1",
        "channel2",
    ]
    assert config.dataset_info.labels == {"background": 0, "foreground": 255}
    assert set(means) == {"foreground/dice"}
    for case_id in _val_ids(work):
        written = work / "predictions" / "fold_0" / f"{case_id}.png"
        pred = np.asarray(PILImage.open(written))
        assert pred.shape == (584, 565) and set(np.unique(pred)) <= {0, 255}


def test_isbi_png_labels_0_255_and_the_same_files_as_a_csv_table(shared_data: Path, tmp_path: Path) -> None:
    names = [f"{i}.png" for i in range(6)]
    data = _copy_cases(shared_data / "ISBI2012_membrane", tmp_path / "isbi", {"image": names, "label": names})
    work = tmp_path / "work"
    _run(data, work, *TINY_2D)
    config = load_config(work / "config.json")
    assert config.dataset_info.labels == {"background": 0, "foreground": 255}
    assert any("written back with their own values" in note for note in config.notes)
    for case_id in _val_ids(work):
        pred = np.asarray(PILImage.open(work / "predictions" / "fold_0" / f"{case_id}.png"))
        assert pred.shape == (512, 512) and pred.dtype == np.uint8 and set(np.unique(pred)) <= {0, 255}
    table = tmp_path / "isbi.csv"
    pd.DataFrame(
        {"image": [f"isbi/image/{n}" for n in names], "label": [f"isbi/label/{n}" for n in names]}
    ).to_csv(table, index=False)
    table_work = tmp_path / "work_csv"
    _run(table, table_work, *TINY_2D)
    assert load_config(table_work / "config.json").dataset_info.labels == {"background": 0, "foreground": 255}
    assert (table_work / "evaluation" / "fold_0.csv").is_file()


def test_totalsegmentator_ct_with_a_handful_of_classes_from_a_config_key(
    shared_data: Path, tmp_path: Path
) -> None:
    root = shared_data / "TotalSegmentator_examples"
    table = tmp_path / "ct.csv"
    pd.DataFrame(
        {
            "image_ct": [str(root / "example_ct_dicom"), str(root / "example_ct_sm.nii.gz")],
            "label": [str(root / "example_seg_dicom.nii.gz"), str(root / "example_seg.nii.gz")],
        }
    ).to_csv(table, index=False)
    work = tmp_path / "work"
    means = _run(
        table,
        work,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
        "--features-base",
        "4",
        "--patch-size",
        "16",
        "64",
        "64",
        "--batch-size",
        "2",
        "--no-tta",
        "--n-folds",
        "2",
        "--workers",
        "0",
        "--set",
        "training.workers=0",
        "--set",
        "dataset_info.labels={background: 0, spleen: 1, liver: 5, stomach: 6}",
    )
    config = load_config(work / "config.json")
    assert config.dataset_info.labels == {"background": 0, "spleen": 1, "liver": 5, "stomach": 6}
    assert config.dataset_info.unlisted_labels == "background"
    assert (
        config.preprocessing.normalization is not None
        and config.preprocessing.normalization[0].scheme == "ct"
    )
    assert set(means) == {"spleen/dice", "liver/dice", "stomach/dice"}
    (written,) = sorted((work / "predictions" / "fold_0").iterdir())
    case_id = written.name.removesuffix(".nii.gz")
    reference = sitk.ReadImage(
        str(root / ("example_seg_dicom.nii.gz" if case_id == "example_ct_dicom" else "example_seg.nii.gz"))
    )
    pred = sitk.ReadImage(str(written))
    assert pred.GetSize() == reference.GetSize()
    assert set(np.unique(sitk.GetArrayFromImage(pred))) <= {0, 1, 5, 6}
    # a folder holding a DICOM series folder: one case per series, named after its folder, on its grid
    shutil.copytree(root / "example_ct_dicom", tmp_path / "series" / "patient1")
    assert (
        main(["predict", str(tmp_path / "series"), "-o", str(tmp_path / "pred"), "-w", str(work), "--no-tta"])
        == 0
    )
    series = sitk.ReadImage(str(tmp_path / "pred" / "patient1.nii.gz"))
    dicom = sitk.ReadImage(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(root / "example_ct_dicom")))
    assert series.GetSize() == dicom.GetSize() == (512, 512, 20)
    assert np.allclose(series.GetOrigin(), dicom.GetOrigin()) and np.allclose(
        series.GetSpacing(), dicom.GetSpacing()
    )


def test_anisotropic_copy_of_hippocampus_gets_an_anisotropic_plan(tmp_path: Path) -> None:
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    meta["training"], meta["numTraining"] = meta["training"][:6], 6
    data = tmp_path / "aniso"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    for entry in meta["training"]:
        for key, interpolator in (("image", sitk.sitkLinear), ("label", sitk.sitkNearestNeighbor)):
            image = sitk.ReadImage(str(sample_path() / entry[key]))
            size = [image.GetSize()[0], image.GetSize()[1], max(2, round(image.GetSize()[2] / 4))]
            out = sitk.Resample(
                image,
                size,
                sitk.Transform(),
                interpolator,
                image.GetOrigin(),
                (1.0, 1.0, 4.0),
                image.GetDirection(),
                0,
                image.GetPixelID(),
            )
            sitk.WriteImage(out, str(data / entry[key]))
    (data / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    work = tmp_path / "work"
    means = _run(
        data,
        work,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--features-base",
        "4",
        "--batch-size",
        "2",
        "--no-tta",
        "--n-folds",
        "3",
        "--workers",
        "0",
        "--set",
        "training.workers=0",
    )
    config = load_config(work / "config.json")
    assert config.spatial_config.target_spacing is not None and config.spatial_config.target_spacing[0] == 4.0
    assert (
        config.spatial_config.resampling is not None and config.spatial_config.resampling.separate_z_axis == 0
    )
    kernels = (config.model.params or {})["conv_kernels"]
    assert kernels[0] == [1, 3, 3]  # no mixing across 4 mm slices before in-plane pooling
    assert set(means) == {"Anterior/dice", "Posterior/dice"}


def test_regions_from_an_nnunet_dataset_json_train_predict_and_evaluate_as_regions(tmp_path: Path) -> None:
    """A BraTS-like nesting built from real hippocampus labels: whole = {1, 2} contains posterior = {2}."""
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    data = tmp_path / "Dataset900_Nested"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    for entry in meta["training"][:6]:
        case_id = Path(entry["image"]).name.removesuffix(".nii.gz")
        shutil.copy(sample_path() / entry["image"], data / "imagesTr" / f"{case_id}_0000.nii.gz")
        shutil.copy(sample_path() / entry["label"], data / "labelsTr" / f"{case_id}.nii.gz")
    (data / "dataset.json").write_text(
        json.dumps(
            {
                "channel_names": {"0": "MRI"},
                "labels": {"background": 0, "whole": [1, 2], "posterior": [2]},
                "regions_class_order": [1, 2],
                "numTraining": 6,
                "file_ending": ".nii.gz",
            }
        ),
        encoding="utf-8",
    )
    work = tmp_path / "work"
    means = _run(
        data,
        work,
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
        "3",
        "--workers",
        "0",
        "--set",
        "training.workers=0",
    )
    config = load_config(work / "config.json")
    assert config.model.activation == "sigmoid"
    assert [(r.name, r.labels, r.paint) for r in config.dataset_info.regions or []] == [
        ("whole", [1, 2], 1),
        ("posterior", [2], 2),
    ]
    assert set(means) == {"whole/dice", "posterior/dice"}
    experiment = next((work / "experiments" / "SegmentationTrainer_fold0").iterdir())
    assert {"dice_whole", "dice_posterior"} <= set(pd.read_csv(experiment / "metrics.csv").columns)
    for case_id in _val_ids(work):
        pred = sitk.GetArrayFromImage(
            sitk.ReadImage(str(work / "predictions" / "fold_0" / f"{case_id}.nii.gz"))
        )
        assert set(np.unique(pred)) <= {0, 1, 2}  # regions painted back as label values
    table = pd.read_csv(work / "evaluation" / "fold_0.csv")
    assert {"whole/dice", "posterior/dice"} <= set(table.columns)
