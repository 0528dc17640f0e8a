"""Reorienting a 3D channels-first array to a named orientation (e.g. "RAS") and back.

Uses SimpleITK's ``DICOMOrientImageFilter``: the voxels are only permuted and flipped (no
interpolation), so the round trip is exact. Orientation codes follow ITK ("RAS" means the index axes
x, y, z run towards Right, Anterior, Superior ... in ITK's "from" convention).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from medseg.core.errors import ConfigError
from medseg.io.geometry import Geometry


def orientation_of(geometry: Geometry) -> str:
    """The three-letter orientation code closest to a 3D geometry's direction."""
    return str(sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(geometry.direction))


def _check_code(code: str) -> str:
    letters = code.upper()
    axes = sorted("RLAPSI".find(c) // 2 for c in letters if c in "RLAPSI")
    if len(letters) != 3 or axes != [0, 1, 2]:
        raise ConfigError(
            f"orientation: invalid code {code!r} (valid: one of R/L, A/P, S/I each, e.g. 'RAS')"
        )
    return letters


def reorient(array: np.ndarray, geometry: Geometry, code: str) -> tuple[np.ndarray, Geometry]:
    """Permute/flip a ``(C, z, y, x)`` array so its grid has orientation ``code``.

    Returns the new array and its geometry. Only 3D images can be reoriented.
    """
    if geometry.dim != 3:
        raise ConfigError(f"orientation: {code!r} needs a 3D image, got a {geometry.dim}D one")
    target = _check_code(code)
    if orientation_of(geometry) == target:
        return array, geometry
    flt = sitk.DICOMOrientImageFilter()
    flt.SetDesiredCoordinateOrientation(target)
    channels = []
    out_geometry = geometry
    for c in range(array.shape[0]):
        img = sitk.GetImageFromArray(np.ascontiguousarray(array[c]))
        img.SetSpacing(geometry.spacing)
        img.SetOrigin(geometry.origin)
        img.SetDirection(geometry.direction)
        oriented = flt.Execute(img)
        channels.append(sitk.GetArrayFromImage(oriented))
        out_geometry = Geometry(oriented.GetSpacing(), oriented.GetOrigin(), oriented.GetDirection())
    return np.stack(channels), out_geometry
