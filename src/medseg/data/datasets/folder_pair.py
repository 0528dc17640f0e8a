"""Paired folders of images, labels and optional masks, matched by a key taken from each file name.

The key is the first group of the regular expression ``match`` searched in the file name; the
default, the leading number, pairs DRIVE's ``images/21_training.tif`` with ``1st_manual/21_manual1.gif``
and ``mask/21_training_mask.gif``, and ISBI 2012's ``image/3.png`` with ``label/3.png``. ``match="stem"``
pairs files by their whole name without suffix. Label values are kept as stored (``{0, 255}``
masks stay 0/255: the planner discovers the values and maps them to classes and back).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from medseg.core.errors import DatasetError
from medseg.data.datasets.files import CaseFiles, FileCaseDataset
from medseg.data.datasets.paths import list_image_files, natural_key, strip_suffix

LEADING_NUMBER = r"^(\d+)"


class FolderPairDataset(FileCaseDataset):
    """Cases from an image folder paired with a label folder (and a mask folder) by file-name key."""

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        labels_dir: str | os.PathLike[str] | None = None,
        masks_dir: str | os.PathLike[str] | None = None,
        *,
        match: str = LEADING_NUMBER,
    ) -> None:
        images = _keyed(Path(images_dir), match)
        labels = _keyed(Path(labels_dir), match) if labels_dir is not None else None
        masks = _keyed(Path(masks_dir), match) if masks_dir is not None else None
        cases = []
        for key in sorted(images, key=natural_key):
            label = _partner(labels, key, images[key], "label", labels_dir)
            mask = _partner(masks, key, images[key], "mask", masks_dir)
            cases.append(CaseFiles(key, (images[key],), label, mask))
        for others in (labels, masks):
            orphans = sorted(set(others or {}) - set(images), key=natural_key)
            if others and orphans:
                raise DatasetError(
                    f"{others[orphans[0]]}: no image in {images_dir} has the key '{orphans[0]}'"
                )
        super().__init__(cases, name=str(images_dir))


def _keyed(folder: Path, match: str) -> dict[str, Path]:
    """``key -> file`` for the image files of ``folder``; every file must yield a unique key."""
    pattern = None if match == "stem" else re.compile(match)
    if pattern is not None and pattern.groups < 1:
        raise DatasetError(f"match pattern {match!r} needs a group, e.g. r'^(\\d+)'")
    out: dict[str, Path] = {}
    for path in list_image_files(folder):
        if pattern is None:
            key = strip_suffix(path.name)
        else:
            found = pattern.search(path.name)
            if found is None or found.group(1) is None:
                raise DatasetError(f"{path}: file name does not match the pairing rule {match!r}")
            key = found.group(1)
        if key in out:
            raise DatasetError(f"{path}: key '{key}' is also the key of {out[key].name} (ambiguous pairing)")
        out[key] = path
    if not out:
        raise DatasetError(f"{folder}: no image files found")
    return out


def _partner(
    files: dict[str, Path] | None, key: str, image: Path, role: str, folder: str | os.PathLike[str] | None
) -> Path | None:
    if files is None:
        return None
    if key not in files:
        raise DatasetError(f"{image}: no {role} file with key '{key}' in {folder}")
    return files[key]
