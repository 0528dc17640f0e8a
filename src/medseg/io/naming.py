"""Where a prediction is written: the input's file format unless the user asks for another.

2D raster inputs (PNG, JPEG, GIF, TIFF, BMP) give PNG label maps (lossless, every viewer opens them);
volumes keep their own extension (``.nii.gz`` in, ``.nii.gz`` out; ``.mha`` in, ``.mha`` out); a DICOM
series (a folder or ``.dcm`` files) or an in-memory array gives ``.nii.gz``. Case ids are checked
here, the one place every written file name is made (see :func:`safe_case_id`).
"""

from __future__ import annotations

import os
from pathlib import Path

from medseg.core.errors import ImageWriteError
from medseg.core.vocab import RASTER_SUFFIXES, VOLUME_SUFFIXES
from medseg.io.convert import suffix_of

DEFAULT_SUFFIX = ".nii.gz"


def output_suffix(source: str | None, requested: str | None = None) -> str:
    """The file suffix of a prediction of the image read from ``source`` (``requested`` wins)."""
    if requested:
        return requested if requested.startswith(".") else f".{requested}"
    if not source:
        return DEFAULT_SUFFIX
    first = source.split(";")[0]
    suffix = suffix_of(Path(first))
    if suffix in RASTER_SUFFIXES:
        return ".png"
    if suffix in VOLUME_SUFFIXES:
        return suffix
    return DEFAULT_SUFFIX


def safe_case_id(case_id: str) -> str:
    """``case_id`` when it is a plain file name; an id with a path separator, ``..`` or a leading
    dot would write outside the output folder, which is refused with one line."""
    bad = (
        not case_id
        or case_id in (".", "..")
        or case_id.startswith(".")
        or "/" in case_id
        or "\\" in case_id
        or os.sep in case_id
        or (os.altsep is not None and os.altsep in case_id)
        or "\x00" in case_id
    )
    if bad:
        raise ImageWriteError(
            f"case id {case_id!r} is not a plain file name (no path separators, no leading "
            "'.'); rename the case"
        )
    return case_id


def output_path(
    out_dir: str | os.PathLike[str], case_id: str, source: str | None, requested: str | None = None
) -> Path:
    """``out_dir/<case_id><suffix>`` for a prediction, the case id checked (see the module docstring)."""
    return Path(out_dir) / f"{safe_case_id(case_id)}{output_suffix(source, requested)}"
