"""Open a dataset from a path by recognising its format."""

from __future__ import annotations

import os
from pathlib import Path

from medseg.core.errors import DatasetError
from medseg.data.datasets.base import CaseDataset
from medseg.data.datasets.paths import load_json_object


def open_dataset(source: str | os.PathLike[str]) -> CaseDataset:
    """An MSD or nnU-Net folder (told apart by ``dataset.json``) or a CSV table of files."""
    path = Path(source)
    from medseg.data.datasets.msd import MSDDataset
    from medseg.data.datasets.nnunet import NNUNetDataset
    from medseg.data.datasets.table import TableDataset

    if path.is_file() and path.suffix.lower() == ".csv":
        return TableDataset(path)
    description = path / "dataset.json"
    if path.is_dir() and description.is_file():
        meta = load_json_object(description)
        if "channel_names" in meta and "file_ending" in meta:
            return NNUNetDataset(path)
        if "training" in meta:
            return MSDDataset(path)
        raise DatasetError(f"{description}: neither an MSD ('training' list) nor an nnU-Net ('channel_names') description")
    if not path.exists():
        raise DatasetError(f"{path}: does not exist")
    raise DatasetError(f"{path}: not a recognised dataset (expected a folder with dataset.json or a .csv table)")
