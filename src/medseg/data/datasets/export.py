"""Write any :class:`CaseDataset` in the nnU-Net v2 raw layout (``imagesTr``, ``labelsTr``, ``dataset.json``).

Used by ``medseg convert-msd`` and ``medseg convert-csv``: one NIfTI file per channel
(``CASE_0000.nii.gz``), the label as ``labelsTr/CASE.nii.gz``, geometry kept as read. The folder
appears complete or not at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from medseg.core.atomic import TEMP_PREFIX, naming, write_text_atomic
from medseg.core.errors import DatasetError
from medseg.data.datasets.base import CaseDataset
from medseg.io import Image, write_image

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def write_nnunet_raw(dataset: CaseDataset, out_dir: str | os.PathLike[str], progress: bool = True) -> Path:
    """Write every case of ``dataset`` under ``out_dir``; returns the ``dataset.json`` path.

    The dataset is written into a hidden folder beside ``out_dir`` that is renamed to ``out_dir`` when
    every case is written: a case that cannot be read leaves nothing behind. ``out_dir`` must not
    exist or be empty.
    """
    from rich.progress import track

    out = Path(out_dir)
    if (out / "dataset.json").exists():
        raise DatasetError(f"{out}: already holds a dataset.json; choose an empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise DatasetError(f"{out}: is not empty; choose a new or empty folder")
    channels = dataset.channel_names or []
    labels = dataset.labels or {}
    ids = list(dataset.case_ids)
    for case_id in ids:
        if not _SAFE_ID.match(case_id):
            raise DatasetError(f"{out}: case id {case_id!r} is not a valid file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{out.name}.", dir=out.parent))
    except OSError as exc:
        raise naming(exc, out) from None
    try:
        (staging / "imagesTr").mkdir()
        (staging / "labelsTr").mkdir()
        count = 0
        for index in track(
            range(len(dataset)), description="converting", disable=not progress or len(dataset) == 0
        ):
            case = dataset[index]
            if not channels:
                channels = [f"channel_{c}" for c in range(case.image.array.shape[0])]
            for c in range(case.image.array.shape[0]):
                channel = Image(case.image.array[c : c + 1], case.image.geometry, {})
                write_image(channel, staging / "imagesTr" / f"{case.case_id}_{c:04d}.nii.gz")
            if case.label is not None:
                write_image(case.label, staging / "labelsTr" / f"{case.case_id}.nii.gz")
            count += 1
        names = {**{"background": 0}, **{name: value for value, name in sorted(labels.items()) if value != 0}}
        meta = {
            "channel_names": {str(i): n for i, n in enumerate(channels)},
            "labels": names,
            "numTraining": count,
            "file_ending": ".nii.gz",
        }
        write_text_atomic(staging / "dataset.json", json.dumps(meta, indent=2))
        if out.is_dir():
            out.rmdir()  # empty (checked above)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "dataset.json"
