"""Write any :class:`CaseDataset` in the nnU-Net v2 raw layout (``imagesTr``, ``labelsTr``, ``dataset.json``).

Used by ``medseg convert-msd`` and ``medseg convert-csv``: one NIfTI file per channel
(``CASE_0000.nii.gz``), the label as ``labelsTr/CASE.nii.gz``, geometry kept as read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from medseg.core.atomic import write_text_atomic
from medseg.core.errors import DatasetError
from medseg.data.datasets.base import CaseDataset
from medseg.io import Image, write_image

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def write_nnunet_raw(dataset: CaseDataset, out_dir: str | os.PathLike[str], progress: bool = True) -> Path:
    """Write every case of ``dataset`` under ``out_dir``; returns the ``dataset.json`` path."""
    from rich.progress import track

    out = Path(out_dir)
    if (out / "dataset.json").exists():
        raise DatasetError(f"{out}: already holds a dataset.json; choose an empty folder")
    channels = dataset.channel_names or []
    labels = dataset.labels or {}
    ids = list(dataset.case_ids)
    for case_id in ids:
        if not _SAFE_ID.match(case_id):
            raise DatasetError(f"{out}: case id {case_id!r} is not a valid file name")
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    count = 0
    for index in track(range(len(dataset)), description="converting", disable=not progress or len(dataset) == 0):
        case = dataset[index]
        if not channels:
            channels = [f"channel_{c}" for c in range(case.image.array.shape[0])]
        for c in range(case.image.array.shape[0]):
            channel = Image(case.image.array[c:c + 1], case.image.geometry, {})
            write_image(channel, out / "imagesTr" / f"{case.case_id}_{c:04d}.nii.gz")
        if case.label is not None:
            write_image(case.label, out / "labelsTr" / f"{case.case_id}.nii.gz")
        count += 1
    names = {**{"background": 0}, **{name: value for value, name in sorted(labels.items()) if value != 0}}
    meta = {"channel_names": {str(i): n for i, n in enumerate(channels)}, "labels": names,
            "numTraining": count, "file_ending": ".nii.gz"}
    return write_text_atomic(out / "dataset.json", json.dumps(meta, indent=2))
