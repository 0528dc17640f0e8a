"""Read and write images through SimpleITK, keeping their geometry exactly.

Supported: NIfTI (``.nii``, ``.nii.gz``), MetaImage (``.mha``, ``.mhd``), NRRD (``.nrrd``, ``.nhdr``).
Errors are :class:`medseg.errors.ImageReadError` / :class:`ImageWriteError` with one line that names
the file and the problem.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from medseg.errors import ImageReadError, ImageWriteError
from medseg.io.geometry import Geometry
from medseg.io.image import Image

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")


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
    if image.GetNumberOfComponentsPerPixel() > 1:
        array = np.moveaxis(array, -1, 0)
    else:
        array = array[None]
    if array.ndim != dim + 1:
        raise ValueError(f"unexpected array shape {array.shape} for a {dim}D image")
    return Image(np.ascontiguousarray(array), geometry_of(image), dict(meta or {}))


def to_sitk(image: Image, channel: int | None = None) -> sitk.Image:
    """Convert an :class:`Image` to SimpleITK; several channels become a vector image."""
    array = image.array
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


def read_image(path: str | os.PathLike[str]) -> Image:
    """Read a NIfTI/MetaImage/NRRD file into a channels-first :class:`Image`.

    A 4D file (as the Medical Segmentation Decathlon stores multi-modal images) becomes a 3D image
    whose channels are the fourth axis.
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p}: file does not exist")
    suffix = suffix_of(p)
    if suffix not in VOLUME_SUFFIXES:
        raise ImageReadError(
            f"{p}: unsupported image extension '{suffix or p.suffix}' (supported: {', '.join(VOLUME_SUFFIXES)})"
        )
    try:
        img = sitk.ReadImage(str(p))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((line for line in first if "rror" in line), first[-1] if first else "")
        raise ImageReadError(f"{p}: cannot be read ({detail.strip()[:200]})") from None
    meta = {"source": str(p)}
    if img.GetDimension() == 4:
        return _split_4d(img, meta)
    return from_sitk(img, meta)


def _split_4d(img: sitk.Image, meta: dict[str, str]) -> Image:
    """A 4D image (x, y, z, c) becomes a 3D image with channels first."""
    array = sitk.GetArrayFromImage(img)  # (c, z, y, x)
    spacing = img.GetSpacing()[:3]
    origin = img.GetOrigin()[:3]
    d4 = np.asarray(img.GetDirection()).reshape(4, 4)
    geometry = Geometry(spacing, origin, tuple(d4[:3, :3].ravel().tolist()))
    return Image(np.ascontiguousarray(array), geometry, meta)


def write_image(image: Image, path: str | os.PathLike[str]) -> Path:
    """Write ``image`` with its exact geometry; the file appears atomically (temp file + rename).

    Several channels are written as a vector image. Returns the path written.
    """
    p = Path(path)
    suffix = suffix_of(p)
    if suffix not in VOLUME_SUFFIXES:
        raise ImageWriteError(f"{p}: unsupported image extension '{suffix}' for writing")
    if not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=p.parent)
    os.close(fd)
    try:
        sitk.WriteImage(to_sitk(image), tmp, useCompression=suffix in (".nii.gz", ".mha", ".nrrd"))
        os.replace(tmp, p)
    except RuntimeError as exc:
        raise ImageWriteError(f"{p}: cannot be written ({str(exc).strip().splitlines()[-1][:200]})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
