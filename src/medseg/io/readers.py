"""Read and write images through SimpleITK, keeping their geometry exactly.

Supported: NIfTI (``.nii``, ``.nii.gz``), MetaImage (``.mha``, ``.mhd``), NRRD (``.nrrd``, ``.nhdr``),
2D rasters (PNG, JPEG, TIFF, BMP, GIF; see :mod:`medseg.io.raster2d`) and DICOM series (a folder; see
:mod:`medseg.io.dicom`). Errors are :class:`medseg.core.errors.ImageReadError` / :class:`ImageWriteError`
with one line that names the file and the problem.

Caveats handled here: ITK's NIfTI reader zero-pads a truncated file (checked against the header,
see :mod:`medseg.io.nifti_check`) and opens ``x.nii`` when asked for ``x.nii.gz`` if both exist (the
``.nii.gz`` is then read through a private link). It also turns NaN/inf voxels of float NIfTI files
into 0; when a float NIfTI image holds zeros, its raw voxel data are scanned for them
(:func:`medseg.io.nifti_check.nifti_nonfinite`, one more decompression: about as long as ITK's own
read), so non-finite voxels are refused (or replaced, see :mod:`medseg.io.values`) in every format
alike. Writes are checked too: ITK's NIfTI and PNG writers report nothing on a full disk.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from medseg.core.atomic import atomic_output
from medseg.core.errors import ImageReadError, ImageWriteError
from medseg.core.vocab import (
    RASTER_SUFFIXES,
    RASTER_WRITE_SUFFIXES,
    READ_SUFFIXES,
    VOLUME_SUFFIXES,
    WRITE_SUFFIXES,
    NonFinitePolicy,
)
from medseg.io.convert import from_sitk, geometry_of, sitk_error_detail, suffix_of, to_sitk
from medseg.io.geometry import Geometry
from medseg.io.image import Image
from medseg.io.nifti_check import nifti_nonfinite, nifti_shortfall
from medseg.io.raster2d import raster_for_writing, read_raster
from medseg.io.values import as_label_array, handle_nonfinite

_COMPRESSED = (".nii.gz", ".mha", ".nrrd")

__all__ = [
    "READ_SUFFIXES",
    "VOLUME_SUFFIXES",
    "WRITE_SUFFIXES",
    "from_sitk",
    "geometry_of",
    "read_image",
    "suffix_of",
    "to_sitk",
    "write_image",
]


def read_image(
    path: str | os.PathLike[str], *, is_label: bool = False, nonfinite: NonFinitePolicy = "error"
) -> Image:
    """Read an image file (or a DICOM series folder) into a channels-first :class:`Image`.

    A 4D file (as the Medical Segmentation Decathlon stores multi-modal images) becomes a 3D image
    whose channels are the fourth axis. With ``is_label`` the result is one channel of integer class
    indices (float files holding whole numbers are converted; gray labels saved as RGB become one
    channel; NaN/inf is an error); otherwise non-finite voxels are an error, or replaced by each
    channel's smallest finite value with ``nonfinite="minimum"`` (:mod:`medseg.io.values`).
    """
    p = Path(path)
    hidden = None
    if p.is_dir():
        from medseg.io.dicom import read_dicom_series

        image = read_dicom_series(p)
    elif not p.exists():
        raise ImageReadError(f"{p}: file does not exist")
    else:
        image, hidden = _read_file(p, is_label=is_label)
    source = str(p)
    if is_label:
        if hidden is not None and hidden.size:
            raise ImageReadError(f"{source}: label has {hidden.size} NaN/inf voxels")
        return image.with_array(as_label_array(image.array, source))
    return image.with_array(handle_nonfinite(image.array, source, nonfinite, hidden))


def _hidden_nonfinite(p: Path, image: Image) -> np.ndarray | None:
    """Flat indices of the NaN/inf voxels ITK zeroed in a float NIfTI file (only looked for when the
    image holds zeros: ITK reads every non-finite voxel as 0)."""
    array = image.array
    if not np.issubdtype(array.dtype, np.floating) or np.count_nonzero(array) == array.size:
        return None
    return nifti_nonfinite(p)


def _read_file(p: Path, *, is_label: bool) -> tuple[Image, np.ndarray | None]:
    suffix = suffix_of(p)
    if suffix not in READ_SUFFIXES:
        raise ImageReadError(
            f"{p}: unsupported image extension '{suffix or p.name}' (supported: {', '.join(READ_SUFFIXES)})"
        )
    if suffix in RASTER_SUFFIXES:
        return read_raster(p, is_label=is_label), None
    try:
        with _unambiguous(p) as readable:
            img = sitk.ReadImage(str(readable))
    except RuntimeError as exc:
        raise ImageReadError(f"{p}: cannot be read ({_read_problem(exc, suffix)})") from None
    if suffix in (".nii", ".nii.gz"):
        shortfall = nifti_shortfall(p)
        if shortfall is not None:
            raise ImageReadError(
                f"{p}: truncated file ({shortfall[0]} of {shortfall[1]} bytes of NIfTI data)"
            )
    meta = {"source": str(p)}
    if img.GetDimension() == 4:
        image = _split_4d(img, meta)
    elif img.GetDimension() not in (2, 3):
        raise ImageReadError(f"{p}: unsupported {img.GetDimension()}D image (expected 2D, 3D or 4D)")
    else:
        image = from_sitk(img, meta)
    return image, (_hidden_nonfinite(p, image) if suffix in (".nii", ".nii.gz") else None)


def _read_problem(exc: RuntimeError, suffix: str) -> str:
    """ITK's reason for a failed read, in words that fit the usual causes."""
    text = str(exc)
    if "Unable to determine ImageIO reader" in text:
        return f"corrupt or not a {suffix} file"
    if "File cannot be read" in text:
        return f"truncated or corrupt {suffix} data"
    return sitk_error_detail(exc)


@contextmanager
def _unambiguous(p: Path) -> Iterator[Path]:
    """A path that ITK's NIfTI reader resolves to ``p`` itself.

    Asked for ``x.nii.gz``, niftilib opens ``x.nii`` instead when that file exists beside it; in that
    case the file is read through a link (or copy) alone in a private temporary folder.
    """
    if suffix_of(p) != ".nii.gz" or not p.with_name(p.name[: -len(".gz")]).exists():
        yield p
        return
    folder = Path(tempfile.mkdtemp(prefix=".medseg-read-"))
    try:
        alone = folder / "image.nii.gz"
        try:
            alone.symlink_to(p.resolve())
        except OSError:
            shutil.copyfile(p, alone)
        yield alone
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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

    Several channels are written as a vector image (RGB for 2D rasters). ``.mhd``/``.nhdr`` headers
    reference their data file by its final name. Returns the path written.
    """
    p = Path(path)
    suffix = suffix_of(p)
    if suffix not in WRITE_SUFFIXES:
        raise ImageWriteError(
            f"{p}: unsupported image extension '{suffix or p.name}' for writing "
            f"(supported: {', '.join(WRITE_SUFFIXES)})"
        )
    sitk_image = raster_for_writing(image, p) if suffix in RASTER_WRITE_SUFFIXES else to_sitk(image)
    try:
        with atomic_output(p) as tmp:
            sitk.WriteImage(sitk_image, str(tmp), useCompression=suffix in _COMPRESSED)
            _check_written(tmp, p)
    except ImageWriteError:
        raise
    except OSError as exc:
        raise ImageWriteError(f"{p}: {exc.strerror or sitk_error_detail(exc)}") from None
    except RuntimeError as exc:
        raise ImageWriteError(f"{p}: cannot be written ({sitk_error_detail(exc)})") from None
    return p


def _check_written(tmp: Path, final: Path) -> None:
    """Refuse what ITK wrote without a word on a full disk: an empty file, a NIfTI file shorter than its
    header says, or any file that left the file system without a free byte (ITK's NIfTI and PNG
    writers report no error when the disk is full)."""
    files = [f for f in tmp.parent.iterdir() if f.is_file()]
    try:
        full = os.statvfs(tmp.parent).f_bavail == 0
    except (OSError, AttributeError):  # no statvfs (Windows): the other checks remain
        full = False
    if full or any(f.stat().st_size == 0 for f in files):
        raise ImageWriteError(f"{final}: {os.strerror(errno.ENOSPC)}")
    if suffix_of(tmp) in (".nii", ".nii.gz"):
        shortfall = nifti_shortfall(tmp)
        if shortfall is not None:
            raise ImageWriteError(
                f"{final}: cannot be written (only {shortfall[0]} of {shortfall[1]} bytes stored; "
                "is the disk full?)"
            )
