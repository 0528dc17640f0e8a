"""DICOM series: pick one series in a folder, sort its slices by position, keep its geometry.

GDCM (through SimpleITK's ``ImageSeriesReader``) groups files by Series Instance UID and sorts each
series' slices along the slice normal, so the grid's origin, spacing and direction come from the
image position/orientation tags, not from file names.
"""

from __future__ import annotations

import os
from pathlib import Path

import SimpleITK as sitk

from medseg.core.errors import ImageReadError
from medseg.io.convert import from_sitk, sitk_error_detail
from medseg.io.image import Image

# DICOM tags copied into Image.meta (tag -> meta key).
_META_TAGS = {
    "0008|0060": "modality",
    "0008|103e": "series_description",
    "0020|000d": "study_uid",
    "0010|0020": "patient_id",
}


def list_dicom_series(folder: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The DICOM series in ``folder``: Series Instance UID -> its files sorted by slice position."""
    p = Path(folder)
    if not p.is_dir():
        raise ImageReadError(f"{p}: DICOM series folder does not exist")
    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # "No Series were found" is an answer, not a warning
    try:
        uids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(p))
        return {uid: list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(p), uid)) for uid in uids}
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)


def read_dicom_series(folder: str | os.PathLike[str], series_uid: str | None = None) -> Image:
    """Read one DICOM series of ``folder`` into a 3D :class:`Image` (one channel).

    Without ``series_uid`` the series with the most files is read. ``meta`` holds ``series_uid``,
    ``source``, the number of slices and, when present, modality, series description, study UID and
    patient id.
    """
    p = Path(folder)
    series = list_dicom_series(p)
    if not series:
        raise ImageReadError(f"{p}: no DICOM series found in this folder")
    if series_uid is None:
        series_uid = max(series, key=lambda uid: (len(series[uid]), uid))
    elif series_uid not in series:
        raise ImageReadError(
            f"{p}: DICOM series {series_uid!r} not found (available: {', '.join(map(repr, sorted(series)))})"
        )
    files = series[series_uid]
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        img = reader.Execute()
    except RuntimeError as exc:
        raise ImageReadError(
            f"{p}: DICOM series {series_uid!r} cannot be read ({sitk_error_detail(exc)})"
        ) from None
    meta = {"source": str(p), "series_uid": series_uid, "num_slices": str(len(files))}
    for tag, key in _META_TAGS.items():
        value = reader.GetMetaData(0, tag).strip() if reader.HasMetaDataKey(0, tag) else ""
        if value:
            meta[key] = value
    return from_sitk(img, meta)
