"""Axis orientation codes ("RAS", "LPS", ...) and reorienting an image by permuting/flipping its axes.

A code names, for each ITK index axis ``(x, y, z)``, the patient direction that axis points *towards*
(the DICOM / ITK ``DICOMOrientImageFilter`` convention): the identity direction is ``"LPS"`` and the
usual NIfTI "RAS+" grid is ``"RAS"``. Reorienting only permutes and flips array axes, so voxel values
are untouched and every voxel keeps its physical position.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from medseg.io.convert import from_sitk, to_sitk
from medseg.io.geometry import Geometry
from medseg.io.image import Image

_AXIS_PAIRS = ("LR", "PA", "SI")


def orientation_of(geometry: Geometry) -> str:
    """The closest axis-aligned orientation code of a 3D geometry's direction, e.g. ``"LPS"``."""
    if geometry.dim != 3:
        raise ValueError(f"orientation codes describe 3D grids, got a {geometry.dim}D geometry")
    return str(sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(geometry.direction))


def check_orientation_code(code: str) -> str:
    """``code`` upper-cased when it names each of the L/R, P/A, S/I axes once, else ValueError."""
    upper = code.upper()
    letters = sorted(pair for letter in upper for pair in _AXIS_PAIRS if letter in pair)
    if len(upper) != 3 or letters != sorted(_AXIS_PAIRS):
        raise ValueError(f"orientation {code!r} must name each of L/R, P/A, S/I once (e.g. 'RAS', 'LPS')")
    return upper


def reorient(image: Image, orientation: str = "RAS") -> Image:
    """``image`` with its array axes permuted/flipped so that :func:`orientation_of` gives ``orientation``.

    Voxel values are moved, never interpolated; the geometry is updated so that every voxel keeps its
    physical position. An oblique direction is first snapped to its closest axis-aligned code, and its
    obliqueness is kept (the direction is permuted/negated, not straightened).
    """
    code = check_orientation_code(orientation)
    if image.dim != 3:
        raise ValueError(f"reorient needs a 3D image, got a {image.dim}D image")
    if orientation_of(image.geometry) == code:
        return Image(image.array.copy(), image.geometry, dict(image.meta))
    orienter = sitk.DICOMOrientImageFilter()
    orienter.SetDesiredCoordinateOrientation(code)
    channels = [from_sitk(orienter.Execute(to_sitk(image, channel=c))) for c in range(image.num_channels)]
    array = np.concatenate([c.array for c in channels]).astype(image.array.dtype, copy=False)
    meta = dict(image.meta)
    meta["orientation"] = code
    return Image(array, channels[0].geometry, meta)
