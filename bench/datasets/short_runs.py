"""Short real runs of ``medseg run-all`` on every kind of dataset of ../shared/data, no tuning flags.

Run: .venv/bin/python bench/datasets/short_runs.py [--budget 300] [--only NAME ...] [--work DIR]
     .venv/bin/python bench/datasets/short_runs.py --table

Each dataset is given to ``medseg run-all DATA -o WORK --folds 0 --time-budget B`` exactly as a user
would (the only other flags are the ones a dataset needs by nature, listed per dataset below), then
the fold's held-out cases are predicted and scored by medseg's evaluator. Datasets:

  sample      the 40-case hippocampus sample embedded in the package (MSD layout)
  drive       DRIVE training/ (RGB TIFF images, GIF 0/255 vessel masks), 20 images
  isbi        ISBI 2012 membranes (image/ + label/ PNG folders, 0/255), 30 images
  isbi_csv    the same ISBI files listed in a CSV table (image,label columns)
  totalseg    the TotalSegmentator CT examples (a DICOM series and a NIfTI), spleen/liver/stomach only
              via ``--set dataset_info.labels=...`` (the dataset has 117 classes); 2 cases so
              ``--n-folds 2``
  aniso       the sample resampled to 1 x 1 x 4 mm (a synthetic anisotropic copy), MSD layout
  regions     the sample as nnU-Net regions: whole = {1, 2} contains posterior = {2}

Results are appended to ``results/short_runs.jsonl``; ``--table`` prints the Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results" / "short_runs.jsonl"
NAMES = ["sample", "drive", "isbi", "isbi_csv", "totalseg", "aniso", "regions"]


def _sample() -> Path:
    from medseg.data.sample import sample_path

    return sample_path()


def _isbi_csv(work: Path) -> Path:
    import pandas as pd

    root = SHARED / "ISBI2012_membrane"
    names = sorted(p.name for p in (root / "image").iterdir() if p.suffix == ".png")
    table = work / "isbi.csv"
    pd.DataFrame(
        {"image": [str(root / "image" / n) for n in names], "label": [str(root / "label" / n) for n in names]}
    ).to_csv(table, index=False)
    return table


def _totalseg(work: Path) -> Path:
    import pandas as pd

    root = SHARED / "TotalSegmentator_examples"
    table = work / "ct.csv"
    pd.DataFrame(
        {
            "image_ct": [str(root / "example_ct_dicom"), str(root / "example_ct_sm.nii.gz")],
            "label": [str(root / "example_seg_dicom.nii.gz"), str(root / "example_seg.nii.gz")],
        }
    ).to_csv(table, index=False)
    return table


def _aniso(work: Path) -> Path:
    import SimpleITK as sitk

    source = _sample()
    meta = json.loads((source / "dataset.json").read_text(encoding="utf-8"))
    data = work / "aniso"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    for entry in meta["training"]:
        for key, interpolator in (("image", sitk.sitkLinear), ("label", sitk.sitkNearestNeighbor)):
            image = sitk.ReadImage(str(source / entry[key]))
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
    return data


def _regions(work: Path) -> Path:
    source = _sample()
    meta = json.loads((source / "dataset.json").read_text(encoding="utf-8"))
    data = work / "Dataset900_Nested"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    for entry in meta["training"]:
        case_id = Path(entry["image"]).name.removesuffix(".nii.gz")
        shutil.copy(source / entry["image"], data / "imagesTr" / f"{case_id}_0000.nii.gz")
        shutil.copy(source / entry["label"], data / "labelsTr" / f"{case_id}.nii.gz")
    description = {
        "channel_names": {"0": "MRI"},
        "labels": {"background": 0, "whole": [1, 2], "posterior": [2]},
        "regions_class_order": [1, 2],
        "numTraining": len(meta["training"]),
        "file_ending": ".nii.gz",
    }
    (data / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    return data


def prepare(name: str, work: Path) -> tuple[Path, list[str]]:
    """The dataset path for ``name`` (built under ``work`` where it is derived) and its extra flags."""
    work.mkdir(parents=True, exist_ok=True)
    if name == "sample":
        return _sample(), []
    if name == "drive":
        return SHARED / "DRIVE", []
    if name == "isbi":
        return SHARED / "ISBI2012_membrane", []
    if name == "isbi_csv":
        return _isbi_csv(work), []
    if name == "totalseg":
        labels = "dataset_info.labels={background: 0, spleen: 1, liver: 5, stomach: 6}"
        return _totalseg(work), ["--n-folds", "2", "--set", labels]
    if name == "aniso":
        return _aniso(work), []
    return _regions(work), []


def run(name: str, budget: float, work_root: Path) -> dict[str, Any]:
    """``medseg run-all`` on one dataset; returns the record appended to RESULTS."""
    work = work_root / name
    if work.exists():
        shutil.rmtree(work)
    data, extra = prepare(name, work_root / f"{name}_data")
    argv = ["run-all", str(data), "-o", str(work), "--folds", "0", "--time-budget", str(budget), *extra]
    log = work_root / f"{name}.log"
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        code = subprocess.run(
            [sys.executable, "-m", "medseg", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        ).returncode
    seconds = time.perf_counter() - start
    summary_path = work / "evaluation" / "cv_summary.json"
    means = json.loads(summary_path.read_text(encoding="utf-8"))["mean"] if summary_path.is_file() else {}
    config = json.loads((work / "config.json").read_text(encoding="utf-8")) if code == 0 else {}
    dice = {k.removesuffix("/dice"): v for k, v in means.items() if k.endswith("/dice")}
    record = {
        "dataset": name,
        "command": "medseg " + " ".join([*argv[:1], "DATA", "-o", "WORK", *argv[4:]]),
        "exit": code,
        "wall_s": round(seconds, 1),
        "dice": dice,
        "mean_dice": sum(dice.values()) / len(dice) if dice else float("nan"),
        "model": config.get("model", {}).get("name"),
        "patch": config.get("spatial_config", {}).get("patch_size"),
        "features": (config.get("model", {}).get("params") or {}).get("features_base"),
        "labels": config.get("dataset_info", {}).get("labels"),
        "time": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return record


def table() -> None:
    """The Markdown table of the latest record per dataset."""
    latest: dict[str, dict[str, Any]] = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            latest[record["dataset"]] = record
    print("| dataset | plan (network, features, patch) | labels | Dice per class | mean | wall s |")
    print("|---|---|---|---|---|---|")
    for name in NAMES:
        r = latest.get(name)
        if r is None:
            continue
        per_class = ", ".join(f"{k} {v:.3f}" for k, v in r["dice"].items())
        print(
            f"| {name} | {r['model']}, {r['features']}, {r['patch']} | {r['labels']} | {per_class} | "
            f"{r['mean_dice']:.3f} | {r['wall_s']:.0f} |"
        )


def main() -> None:
    """Run the requested datasets one after the other (or print the table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="--time-budget seconds per dataset")
    parser.add_argument("--only", nargs="*", default=NAMES, choices=NAMES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/medseg_short_runs"))
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if not args.table:
        for name in args.only:
            print(json.dumps(run(name, args.budget, args.work)), flush=True)
    table()


if __name__ == "__main__":
    main()
