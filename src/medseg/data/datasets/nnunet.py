"""The nnU-Net v2 raw layout: ``imagesTr/CASE_0000.nii.gz`` (one file per channel) + ``labelsTr/CASE``.

``dataset.json`` holds ``channel_names`` (``{"0": "T2", "1": "ADC"}``), ``labels`` (name -> value,
``{"background": 0, "tumour": 1}``), ``file_ending`` and ``numTraining``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from medseg.core.errors import DatasetError
from medseg.data.datasets.files import CaseFiles, FileCaseDataset
from medseg.data.datasets.paths import indexed_names, is_hidden, load_json_object, natural_key, require_key

_CHANNEL_FILE = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


class NNUNetDataset(FileCaseDataset):
    """The training cases of an nnU-Net raw dataset folder (``root/dataset.json``), read lazily.

    Region-based label entries (a list of values) are kept in ``description`` but left out of
    ``labels``, which maps each integer value to its name.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = Path(root)
        source = root / "dataset.json"
        meta = load_json_object(source)
        channels = indexed_names(require_key(meta, "channel_names", dict, source), "channel_names", source)
        ending = require_key(meta, "file_ending", str, source)
        raw_labels = require_key(meta, "labels", dict, source)
        labels = {int(v): str(k) for k, v in raw_labels.items() if isinstance(v, int) and not isinstance(v, bool)}
        cases = _scan(root, ending, len(channels))
        expected = meta.get("numTraining")
        if isinstance(expected, int) and expected != len(cases):
            raise DatasetError(f"{source}: numTraining is {expected} but {root / 'imagesTr'} holds {len(cases)} cases")
        self.description = meta
        super().__init__(cases, name=str(root), channel_names=channels, labels=labels)


def _scan(root: Path, ending: str, n_channels: int) -> list[CaseFiles]:
    images_dir, labels_dir = root / "imagesTr", root / "labelsTr"
    if not images_dir.is_dir():
        raise DatasetError(f"{images_dir}: folder does not exist")
    by_case: dict[str, dict[int, Path]] = {}
    for path in images_dir.iterdir():
        if is_hidden(path) or not path.name.endswith(ending):
            continue
        match = _CHANNEL_FILE.match(path.name[: -len(ending)])
        if match is None:
            raise DatasetError(f"{path}: image name must be CASE_XXXX{ending} (XXXX = 4-digit channel index)")
        by_case.setdefault(match["case"], {})[int(match["channel"])] = path
    cases = []
    for case_id in sorted(by_case, key=natural_key):
        found = by_case[case_id]
        for c in range(n_channels):
            if c not in found:
                raise DatasetError(f"{images_dir / f'{case_id}_{c:04d}{ending}'}: channel file of case {case_id} is missing")
        extra = sorted(set(found) - set(range(n_channels)))
        if extra:
            raise DatasetError(f"{found[extra[0]]}: channel {extra[0]} is not in dataset.json's channel_names")
        label = labels_dir / f"{case_id}{ending}"
        if not label.is_file():
            raise DatasetError(f"{label}: label file of case {case_id} does not exist")
        cases.append(CaseFiles(case_id, tuple(found[c] for c in range(n_channels)), label))
    return cases
