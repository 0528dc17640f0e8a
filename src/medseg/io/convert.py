"""Conversions between SimpleITK images and :class:`Image`, and small helpers shared by the readers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from medseg.io.geometry import Geometry
from medseg.io.image import Image


def suffix_of(path: str | os.PathLike[str]) -> str:
    """The lower-case image suffix of a path, treating ``.nii.gz`` as one suffix."""
    name = Path(path).name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return Path(name).suffix


def geometry_of(image: sitk.Image) -> Geometry:
    """The :class:`Geometry` of a SimpleITK image."""
    return Geometry(image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def from_sitk(image: sitk.Image, meta: dict[str, str] | None = None) -> Image:
    """Convert a SimpleITK image (scalar or vector pixels) to a channels-first :class:`Image`."""
    array = sitk.GetArrayFromImage(image)
    dim = image.GetDimension()
    array = np.moveaxis(array, -1, 0) if image.GetNumberOfComponentsPerPixel() > 1 else array[None]
    if array.ndim != dim + 1:
        raise ValueError(f"unexpected array shape {array.shape} for a {dim}D image")
    return Image(np.ascontiguousarray(array), geometry_of(image), dict(meta or {}))


def to_sitk(image: Image, channel: int | None = None) -> sitk.Image:
    """Convert an :class:`Image` to SimpleITK; several channels become a vector image."""
    array = image.array
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if channel is not None:
        array = array[channel : channel + 1]
    if array.shape[0] == 1:
        out = sitk.GetImageFromArray(np.ascontiguousarray(array[0]), isVector=False)
    else:
        out = sitk.GetImageFromArray(np.ascontiguousarray(np.moveaxis(array, 0, -1)), isVector=True)
    out.SetSpacing(image.geometry.spacing)
    out.SetOrigin(image.geometry.origin)
    out.SetDirection(image.geometry.direction)
    return out


def sitk_error_detail(exc: BaseException) -> str:
    """The informative line of a SimpleITK exception message, shortened to one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    detail = next((line for line in lines if "rror" in line), lines[-1] if lines else type(exc).__name__)
    return detail[:200]
