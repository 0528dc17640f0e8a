"""Open a dataset from a path by recognising its format.

* a folder with ``dataset.json``: MSD (a ``training`` list) or nnU-Net raw (``channel_names``);
* a ``.csv`` file: a table of image/label paths;
* a folder with an image folder and a label folder (``images/`` + ``labels/``, ``image/`` +
  ``label/``, DRIVE's ``images/`` + ``1st_manual/`` + ``mask/``, ...): paired 2D/3D files, matched by
  their leading number, else by file name;
* a folder whose only sub-folder is ``training``/``train`` (DRIVE's download): that sub-folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from medseg.core.errors import DatasetError
from medseg.data.datasets.base import CaseDataset
from medseg.data.datasets.paths import load_json_object

IMAGE_FOLDERS = ("images", "image", "imgs", "img")
#: label folder names, most specific first; "mask"/"masks" are labels unless another label folder
#: exists, in which case they are region-of-interest masks (DRIVE's field-of-view masks)
LABEL_FOLDERS = (
    "labels",
    "label",
    "1st_manual",
    "manual",
    "gt",
    "groundtruth",
    "ground_truth",
    "annotations",
    "segmentations",
    "segmentation",
    "masks",
    "mask",
)
ROI_FOLDERS = ("mask", "masks", "roi", "fov")
TRAINING_FOLDERS = ("training", "train")


def _sub(folder: Path, names: tuple[str, ...], exclude: Path | None = None) -> Path | None:
    by_lower = {p.name.lower(): p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    for name in names:
        found = by_lower.get(name)
        if found is not None and found != exclude:
            return found
    return None


def folder_pair(path: Path) -> CaseDataset | None:
    """A :class:`FolderPairDataset` when ``path`` holds an image folder and a label folder, else None."""
    from medseg.data.datasets.folder_pair import LEADING_NUMBER, FolderPairDataset

    images = _sub(path, IMAGE_FOLDERS)
    labels = _sub(path, LABEL_FOLDERS)
    if images is None or labels is None:
        return None
    roi = _sub(path, ROI_FOLDERS, exclude=labels)
    try:
        return FolderPairDataset(images, labels, roi, match=LEADING_NUMBER)
    except DatasetError as exc:
        if "pairing rule" not in str(exc):
            raise
        return FolderPairDataset(images, labels, roi, match="stem")


def open_dataset(source: str | os.PathLike[str]) -> CaseDataset:
    """The dataset at ``source`` in the first format of the module docstring that fits."""
    from medseg.data.datasets.msd import MSDDataset
    from medseg.data.datasets.nnunet import NNUNetDataset
    from medseg.data.datasets.table import TableDataset

    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".csv":
        return TableDataset(path)
    if not path.exists():
        raise DatasetError(f"{path}: does not exist")
    description = path / "dataset.json"
    if path.is_dir() and description.is_file():
        meta = load_json_object(description)
        if "channel_names" in meta and "file_ending" in meta:
            return NNUNetDataset(path)
        if "training" in meta:
            return MSDDataset(path)
        raise DatasetError(
            f"{description}: neither an MSD ('training' list) nor an nnU-Net ('channel_names') description"
        )
    if path.is_dir():
        paired = folder_pair(path)
        if paired is not None:
            return paired
        subfolders = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if len(subfolders) == 1 and subfolders[0].name.lower() in TRAINING_FOLDERS:
            return open_dataset(subfolders[0])
    raise DatasetError(
        f"{path}: not a recognised dataset (expected a folder with dataset.json, an image folder "
        f"beside a label folder ({'/'.join(IMAGE_FOLDERS)} + {'/'.join(LABEL_FOLDERS[:4])}/...), "
        "or a .csv table)"
    )
