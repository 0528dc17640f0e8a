"""A small real dataset shipped inside medseg: 40 hippocampus MRI cases of the Medical Segmentation
Decathlon (Task04, CC BY-SA 4.0; see ``medseg/samples/hippocampus/ATTRIBUTION.md``).

It lets a user, a test or the README demo train and predict without downloading anything.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

from medseg.core.errors import DatasetError
from medseg.data.datasets.msd import MSDDataset

SAMPLE_NAME = "hippocampus"


def sample_path() -> Path:
    """The folder of the embedded sample (MSD layout: dataset.json, imagesTr/, labelsTr/)."""
    root = resources.files("medseg") / "samples" / SAMPLE_NAME
    path = Path(str(root))
    if not (path / "dataset.json").is_file():
        raise DatasetError(f"{path}: the embedded sample is missing from this medseg installation")
    return path


def load_sample() -> MSDDataset:
    """The 40-case hippocampus sample as an :class:`MSDDataset` (1 MRI channel, labels 0/1/2)."""
    return MSDDataset(sample_path())


def copy_sample(out: Path, count: int) -> Path:
    """The first ``count`` sample cases copied to ``out`` as an MSD task folder (for tries and tests)."""
    source = sample_path()
    meta = json.loads((source / "dataset.json").read_text(encoding="utf-8"))
    if not 1 <= count <= len(meta["training"]):
        raise DatasetError(f"count {count}: the sample has {len(meta['training'])} cases")
    meta["training"], meta["numTraining"] = meta["training"][:count], count
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for entry in meta["training"]:
        for key in ("image", "label"):
            shutil.copy(source / entry[key], out / entry[key])
    (out / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return out
