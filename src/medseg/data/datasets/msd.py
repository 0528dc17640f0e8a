"""The Medical Segmentation Decathlon layout: ``dataset.json`` + ``imagesTr/`` + ``labelsTr/``.

``dataset.json`` lists the training cases (``{"image": "./imagesTr/x.nii.gz", "label": ...}``), the
modalities (``{"0": "FLAIR", ...}``, the channels of each 4D image) and the labels
(``{"0": "background", ...}``). Entries naming hidden ``._`` files (macOS resource forks shipped in
the MSD archives) are ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

from medseg.core.errors import DatasetError
from medseg.data.datasets.files import CaseFiles, FileCaseDataset, missing_files
from medseg.data.datasets.paths import indexed_names, is_hidden, load_json_object, require_key, strip_suffix


class MSDDataset(FileCaseDataset):
    """The training cases of an MSD task folder (``root/dataset.json``), read lazily.

    Attributes beyond :class:`FileCaseDataset`: ``description`` (the raw ``dataset.json``) and
    ``test_images`` (the listed test images, unlabelled).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = Path(root)
        source = root / "dataset.json"
        meta = load_json_object(source)
        training = require_key(meta, "training", list, source)
        channels = indexed_names(meta.get("modality", {"0": "image"}), "modality", source)
        labels = {int(v): n for v, n in zip(_label_values(meta, source), meta["labels"].values())}
        cases = []
        for n, entry in enumerate(training):
            if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
                raise DatasetError(f"{source}: training[{n}] must be an object with an 'image' path")
            image = _resolve(root, entry["image"])
            if is_hidden(image):
                continue
            label = entry.get("label")
            if label is not None and not isinstance(label, str):
                raise DatasetError(f"{source}: training[{n}].label must be a path, got {label!r}")
            cases.append(
                CaseFiles(strip_suffix(image.name), (image,), _resolve(root, label) if label else None)
            )
        missing = missing_files(cases)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(f"{source}: listed file {missing[0]} does not exist{more}")
        self.description = meta
        self.test_images = [
            _resolve(root, t) for t in meta.get("test", []) if isinstance(t, str) and not is_hidden(Path(t))
        ]
        super().__init__(cases, name=str(root), channel_names=channels, labels=labels)


def _resolve(root: Path, listed: str) -> Path:
    """``./imagesTr/x.nii.gz`` relative to ``root`` (absolute paths are kept)."""
    path = Path(listed)
    return path if path.is_absolute() else (root / path)


def _label_values(meta: dict[str, object], source: Path) -> list[int]:
    labels = meta.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise DatasetError(f'{source}: key \'labels\' must be a non-empty object like {{"0": "background"}}')
    try:
        return [int(k) for k in labels]
    except ValueError:
        raise DatasetError(
            f"{source}: keys of 'labels' must be integer label values, got {list(labels)}"
        ) from None
