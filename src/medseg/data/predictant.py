"""parse_predictant: turn whatever a user hands the Predictor into a stream of cases.

Accepted: an image file path; a folder of images (``CASE.nii.gz`` or nnU-Net-style
``CASE_0000.nii.gz, CASE_0001...`` channel files); a DICOM series folder (one case, named after the
folder) or a folder of such folders (one case each); a list of paths; a tensor or array
``(C, *spatial)`` (one case, identity geometry with the plan's spacing) or ``(B, C, *spatial)``; or
a dataset / iterable of :class:`~medseg.data.case.Case`.

It lives in ``data`` (not ``inference``) and never imports torch, so that the torch Predictor and
the torch-free :mod:`medseg.lite` predictor read their inputs through one function; a tensor is
recognised when torch has been imported by the caller.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medseg.core.errors import MedsegError
from medseg.core.vocab import IMAGE_SUFFIXES, NonFinitePolicy, image_suffix
from medseg.data.case import Case
from medseg.io import Geometry, Image, read_image

_CHANNEL = re.compile(r"^(?P<case>.+)_(?P<ch>\d{4})$")


def _strip(name: str) -> str | None:
    """``name`` without its image suffix, or None when it is not an image file."""
    suffix = image_suffix(name)
    return name[: -len(suffix)] if suffix else None


def _case_from_files(case_id: str, files: Sequence[Path], nonfinite: NonFinitePolicy = "error") -> Case:
    images = [read_image(f, nonfinite=nonfinite) for f in files]
    array = np.concatenate([im.array for im in images], axis=0)
    return Case(case_id, Image(array, images[0].geometry, {"source": str(files[0])}))


def _cases_from_folder(folder: Path, nonfinite: NonFinitePolicy) -> Iterator[Case]:
    groups: dict[str, list[Path]] = {}
    for f in sorted(folder.iterdir()):
        stem = _strip(f.name)
        if stem is None or f.name.startswith("."):
            continue
        m = _CHANNEL.match(stem)
        groups.setdefault(m.group("case") if m else stem, []).append(f)
    if not groups:
        yield from _dicom_cases(folder, nonfinite)
        return
    for case_id, files in groups.items():
        yield _case_from_files(case_id, files, nonfinite)


def _dicom_cases(folder: Path, nonfinite: NonFinitePolicy) -> Iterator[Case]:
    from medseg.io.dicom import list_dicom_series

    if list_dicom_series(folder):
        yield Case(folder.name, read_image(folder, nonfinite=nonfinite))
        return
    series = [
        d
        for d in sorted(folder.iterdir())
        if d.is_dir() and not d.name.startswith(".") and list_dicom_series(d)
    ]
    if not series:
        raise MedsegError(
            f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)} files and DICOM series)"
        )
    for sub in series:
        yield Case(sub.name, read_image(sub, nonfinite=nonfinite))


def _cases_from_array(array: np.ndarray, spacing: Sequence[float] | None) -> Iterator[Case]:
    batch = (
        array if array.ndim >= 4 and spacing is not None and array.ndim == len(spacing) + 2 else array[None]
    )
    for i, item in enumerate(batch):
        dims = item.ndim - 1
        geometry = Geometry.from_array_spacing(list(spacing)[-dims:] if spacing else [1.0] * dims)
        yield Case(f"case_{i:04d}", Image(np.asarray(item, dtype=np.float32), geometry))


def parse_predictant(
    predictant: Any, spacing: Sequence[float] | None = None, nonfinite: NonFinitePolicy = "error"
) -> Iterator[Case]:
    """Yield :class:`Case` objects (images only) from a path, folder, list, tensor, array or dataset.

    Image files are read with the ``nonfinite`` policy (:func:`medseg.io.read_image`).
    """
    if isinstance(predictant, str | os.PathLike):
        path = Path(predictant)
        if path.is_dir():
            yield from _cases_from_folder(path, nonfinite)
        elif path.exists():
            stem = _strip(path.name) or path.stem
            yield _case_from_files(stem, [path], nonfinite)
        else:
            raise MedsegError(f"{path}: no such file or folder to predict")
        return
    torch = sys.modules.get("torch")  # a tensor can only exist once its caller imported torch
    if torch is not None and isinstance(predictant, torch.Tensor):
        yield from _cases_from_array(predictant.detach().cpu().numpy(), spacing)
        return
    if isinstance(predictant, np.ndarray):
        yield from _cases_from_array(predictant, spacing)
        return
    for item in predictant:
        if isinstance(item, Case):
            yield item
        elif isinstance(item, str | os.PathLike):
            yield from parse_predictant(item, spacing, nonfinite)
        else:
            raise MedsegError(
                f"cannot predict an item of type {type(item).__name__} (expected a Case or a path)"
            )
