"""Resampling an image onto another voxel grid with SimpleITK (nearest neighbour for labels)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import SimpleITK as sitk

from medseg.io.convert import from_sitk, to_sitk
from medseg.io.geometry import Geometry
from medseg.io.image import Image

Interpolation = Literal["nearest", "linear", "bspline"]
_INTERPOLATORS = {
    "nearest": sitk.sitkNearestNeighbor,
    "linear": sitk.sitkLinear,
    "bspline": sitk.sitkBSpline,
}


def resample_to(
    image: Image,
    reference_geometry: Geometry,
    reference_shape: Sequence[int],
    *,
    is_label: bool,
    interpolation: Interpolation | None = None,
    default_value: float = 0.0,
) -> Image:
    """``image`` resampled onto the grid ``(reference_geometry, reference_shape)``.

    ``reference_shape`` is the spatial shape in array order (``(z, y, x)``). Every output voxel takes
    the value of ``image`` at the voxel's physical centre: nearest neighbour for labels (dtype kept)
    and linear interpolation for images (float32 output, float64 kept) unless ``interpolation`` says
    otherwise. Voxels outside ``image`` get ``default_value``. Each channel is resampled alone.
    """
    shape = tuple(int(s) for s in reference_shape)
    if len(shape) != reference_geometry.dim or image.dim != reference_geometry.dim:
        raise ValueError(
            f"resample_to: image is {image.dim}D, reference geometry {reference_geometry.dim}D, shape {shape}"
        )
    method = interpolation or ("nearest" if is_label else "linear")
    if method not in _INTERPOLATORS:
        raise ValueError(
            f"resample_to: unknown interpolation {method!r} (use one of {sorted(_INTERPOLATORS)})"
        )
    array = image.array
    if method == "nearest":
        out_dtype = array.dtype
    else:
        out_dtype = np.dtype(np.float64) if array.dtype == np.float64 else np.dtype(np.float32)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    elif method != "nearest":
        array = array.astype(out_dtype, copy=False)
    source = Image(array, image.geometry)
    resampler = sitk.ResampleImageFilter()
    resampler.SetSize([int(s) for s in reversed(shape)])
    resampler.SetOutputSpacing(reference_geometry.spacing)
    resampler.SetOutputOrigin(reference_geometry.origin)
    resampler.SetOutputDirection(reference_geometry.direction)
    resampler.SetInterpolator(_INTERPOLATORS[method])
    resampler.SetDefaultPixelValue(default_value)
    channels = [
        from_sitk(resampler.Execute(to_sitk(source, channel=c))).array[0] for c in range(image.num_channels)
    ]
    out = np.stack(channels).astype(out_dtype, copy=False)
    return Image(out, reference_geometry, dict(image.meta))


def resample_like(image: Image, reference: Image, *, is_label: bool) -> Image:
    """``image`` resampled onto the grid of ``reference`` (see :func:`resample_to`)."""
    return resample_to(image, reference.geometry, reference.spatial_shape, is_label=is_label)
