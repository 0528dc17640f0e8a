"""The nnU-Net v2 raw layout: ``imagesTr/CASE_0000.nii.gz`` (one file per channel) + ``labelsTr/CASE``.

``dataset.json`` holds ``channel_names`` (``{"0": "T2", "1": "ADC"}``), ``labels`` (name -> value,
``{"background": 0, "tumour": 1}``), ``file_ending`` and ``numTraining``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from typing_extensions import override

from medseg.config.plan import RegionSpec
from medseg.core.errors import DatasetError
from medseg.data.datasets.files import CaseFiles, FileCaseDataset
from medseg.data.datasets.paths import indexed_names, is_hidden, load_json_object, natural_key, require_key

_CHANNEL_FILE = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


class NNUNetDataset(FileCaseDataset):
    """The training cases of an nnU-Net raw dataset folder (``root/dataset.json``), read lazily.

    ``labels`` maps each integer value to its name. When an entry is a list of values (nnU-Net's
    region format, with ``regions_class_order``), every non-background entry becomes one of
    :attr:`regions` (an integer entry is a one-label region and still names its value); values no
    entry names are discovered from the data.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = Path(root)
        source = root / "dataset.json"
        meta = load_json_object(source)
        channels = indexed_names(require_key(meta, "channel_names", dict, source), "channel_names", source)
        ending = require_key(meta, "file_ending", str, source)
        raw_labels = require_key(meta, "labels", dict, source)
        self._regions = _regions(raw_labels, meta.get("regions_class_order"), source)
        labels = {
            int(v): str(k) for k, v in raw_labels.items() if isinstance(v, int) and not isinstance(v, bool)
        }
        cases = _scan(root, ending, len(channels))
        expected = meta.get("numTraining")
        if isinstance(expected, int) and expected != len(cases):
            raise DatasetError(
                f"{source}: numTraining is {expected} but {root / 'imagesTr'} holds {len(cases)} cases"
            )
        self.description = meta
        super().__init__(cases, name=str(root), channel_names=channels, labels=labels)

    @property
    @override
    def regions(self) -> list[RegionSpec] | None:
        return None if self._regions is None else [r.model_copy() for r in self._regions]


def _regions(raw: dict[str, object], order: object, source: Path) -> list[RegionSpec] | None:
    """nnU-Net's region entries as RegionSpecs (``None`` when every entry is a single value)."""
    if not any(isinstance(v, list) for v in raw.values()):
        return None
    regions: list[RegionSpec] = []
    for name, value in raw.items():
        items: list[object] = list(value) if isinstance(value, list) else [value]
        values = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
        if len(values) != len(items) or not values:
            raise DatasetError(
                f"{source}: labels['{name}'] must be an integer or a list of integers, got {value!r}"
            )
        if values == [0]:
            continue
        regions.append(RegionSpec(name=str(name), labels=values))
    if order is not None:
        if (
            not isinstance(order, list)
            or len(order) != len(regions)
            or not all(isinstance(v, int) for v in order)
        ):
            raise DatasetError(
                f"{source}: regions_class_order must list one integer per region ({len(regions)})"
            )
        regions = [r.model_copy(update={"paint": int(v)}) for r, v in zip(regions, order)]
    return regions


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
                raise DatasetError(
                    f"{images_dir / f'{case_id}_{c:04d}{ending}'}: channel file of case {case_id} is missing"
                )
        extra = sorted(set(found) - set(range(n_channels)))
        if extra:
            raise DatasetError(
                f"{found[extra[0]]}: channel {extra[0]} is not in dataset.json's channel_names"
            )
        label = labels_dir / f"{case_id}{ending}"
        if not label.is_file():
            raise DatasetError(f"{label}: label file of case {case_id} does not exist")
        cases.append(CaseFiles(case_id, tuple(found[c] for c in range(n_channels)), label))
    return cases
