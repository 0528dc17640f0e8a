"""Tiny trained models for the export and lite tests: the embedded sample (3D) and ISBI membranes (2D).

Each is trained for a few optimiser steps only (seconds), enough for non-trivial logits; the
tests compare backends with each other, not with the references.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medseg.cli.main import main
from medseg.data.sample import load_sample, sample_path

#: the demo holds out the last 8 sorted case ids of the sample (medseg.cli.demo.HELD_OUT)
HELD_OUT = 8
TRAIN_CASES = 10
TINY = ["--workers", "0", "--batch-size", "2", "--features-base", "8"] + [
    arg
    for key in (
        "training.epochs=2",
        "training.steps_per_epoch=3",
        "training.n_folds=3",
        "training.workers=0",
        "training.device=cpu",
        "preprocessing.workers=0",
    )
    for arg in ("--set", key)
]


def _experiment(work: Path) -> Path:
    runs = sorted((work / "experiments" / "SegmentationTrainer_fold0").glob("*/"))
    assert runs, f"no experiment under {work}"
    return runs[-1]


def _train(data: Path, work: Path, patch: list[str]) -> Path:
    assert main(["analyze", str(data), "-o", str(work), *TINY, "--patch-size", *patch]) == 0
    assert main(["train", "-o", str(work), "--fold", "0"]) == 0
    return _experiment(work)


@pytest.fixture(scope="session")
def hippocampus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3D model of the sample trained on 10 cases; ``held_out``: the demo's 8 held-out images."""
    root = tmp_path_factory.mktemp("lite_hippo")
    sample = load_sample()
    ids = sorted(sample.case_ids)
    data = root / "data"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    keep = set(ids[:TRAIN_CASES])
    meta["training"] = [e for e in meta["training"] if Path(e["image"]).name.removesuffix(".nii.gz") in keep]
    meta["numTraining"] = len(meta["training"])
    for entry in meta["training"]:
        for key in ("image", "label"):
            shutil.copy(sample_path() / entry[key], data / entry[key])
    (data / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    held_out = root / "held_out"
    held_out.mkdir()
    for case_id in ids[-HELD_OUT:]:
        shutil.copy(sample_path() / "imagesTr" / f"{case_id}.nii.gz", held_out / f"{case_id}.nii.gz")
    experiment = _train(data, root / "work", ["32", "32", "32"])
    return {
        "root": root,
        "experiment": experiment,
        "held_out": held_out,
        "labels": sample_path() / "labelsTr",
    }


@pytest.fixture(scope="session")
def membranes(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Path]:
    """A 2D model of 4 ISBI membrane images (PNG, labels 0/255); ``held_out``: 1 other image."""
    root = tmp_path_factory.mktemp("lite_isbi")
    data = root / "data"
    for sub in ("image", "label"):
        (data / sub).mkdir(parents=True)
        for i in range(4):
            shutil.copy(shared_data / "ISBI2012_membrane" / sub / f"{i}.png", data / sub / f"{i}.png")
    held_out = root / "held_out"
    held_out.mkdir()
    shutil.copy(shared_data / "ISBI2012_membrane" / "image" / "20.png", held_out / "20.png")
    experiment = _train(data, root / "work", ["128", "128"])
    return {"root": root, "experiment": experiment, "held_out": held_out}


@pytest.fixture(scope="session")
def hippocampus_onnx(hippocampus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3D model exported with ``medseg export EXP -o hippo.onnx`` (defaults: parity on the cache)."""
    out = tmp_path_factory.mktemp("export") / "hippo.onnx"
    assert main(["export", str(hippocampus["experiment"]), "-o", str(out)]) == 0
    return out
