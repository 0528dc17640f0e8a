"""2D raster images (PNG, JPEG, TIFF, BMP, GIF): channels first, labels as class indices.

SimpleITK reads PNG/JPEG/TIFF; it has no GIF reader and expands palettes (including the gray palette
of 8-bit BMP files) to RGB, so GIF and BMP files and palette ("P" mode) images are read with Pillow,
which keeps a palette label's class indices.
RGB(A) pixels become 3 channels (alpha dropped), gray pixels 1 channel; arrays are ``(C, y, x)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from medseg.core.errors import ImageReadError, ImageWriteError
from medseg.io.convert import from_sitk, sitk_error_detail, suffix_of
from medseg.io.geometry import Geometry
from medseg.io.image import Image

_PALETTE_MODES = ("P", "PA")
_PILLOW_SUFFIXES = (".gif", ".bmp")
# Pixel types each writable format stores losslessly.
_WRITE_DTYPES: dict[str, tuple[type[np.generic], ...]] = {
    ".png": (np.uint8, np.uint16),
    ".bmp": (np.uint8,),
    ".tif": (np.uint8, np.uint16, np.float32),
    ".tiff": (np.uint8, np.uint16, np.float32),
}


def read_raster(path: Path, *, is_label: bool = False) -> Image:
    """Read a 2D raster file into a channels-first :class:`Image` (see the module docstring).

    With ``is_label`` a palette image gives its palette indices; otherwise its colours (1 channel when
    the palette is gray, else 3).
    """
    mode = _pillow_mode(path)
    if suffix_of(path) in _PILLOW_SUFFIXES or mode in _PALETTE_MODES:
        array = _read_with_pillow(path, is_label=is_label)
        return Image(array, Geometry.identity(2), {"source": str(path)})
    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise ImageReadError(f"{path}: cannot be read ({sitk_error_detail(exc)})") from None
    image = from_sitk(img, {"source": str(path)})
    return image.with_array(_drop_alpha(image.array))


def _pillow_mode(path: Path) -> str | None:
    """Pillow's pixel mode from the file header, or None when Pillow cannot open it."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as im:
            return str(im.mode)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _read_with_pillow(path: Path, *, is_label: bool) -> np.ndarray:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as im:
            im.seek(0)  # an animated GIF contributes its first frame
            im.load()
            if im.mode in _PALETTE_MODES and is_label:
                return np.asarray(im.convert("P") if im.mode == "PA" else im)[None].copy()
            if im.mode in _PALETTE_MODES:
                rgb = np.moveaxis(np.asarray(im.convert("RGB")), -1, 0)
                return rgb[:1].copy() if bool((rgb == rgb[:1]).all()) else rgb.copy()
            if im.mode == "1":
                return np.asarray(im, dtype=np.uint8)[None].copy()
            if im.mode in ("L", "I", "F", "I;16", "I;16B", "I;16L"):
                return np.asarray(im)[None].copy()
            if im.mode == "LA":
                return np.asarray(im.convert("L"))[None].copy()
            return np.moveaxis(np.asarray(im.convert("RGB")), -1, 0).copy()
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as exc:
        raise ImageReadError(f"{path}: cannot be read ({str(exc).splitlines()[0][:200]})") from None


def _drop_alpha(array: np.ndarray) -> np.ndarray:
    """RGBA -> RGB and gray+alpha -> gray, channels first."""
    if array.shape[0] == 4:
        return array[:3]
    if array.shape[0] == 2:
        return array[:1]
    return array


def raster_for_writing(image: Image, path: Path) -> sitk.Image:
    """A SimpleITK image ready to be written as a 2D raster, or :class:`ImageWriteError`.

    The image must be 2D with 1, 3 or 4 channels. Integer (or bool) arrays of another dtype are
    converted when every value fits the format (uint8 everywhere, uint16 for PNG/TIFF); floats are
    accepted for TIFF only (as float32).
    """
    suffix = suffix_of(path)
    if image.dim != 2:
        raise ImageWriteError(f"{path}: {suffix} stores 2D images, got a {image.dim}D image")
    if image.num_channels not in (1, 3, 4):
        raise ImageWriteError(f"{path}: {suffix} stores 1, 3 or 4 channels, got {image.num_channels}")
    array = _fit_dtype(image.array, _WRITE_DTYPES[suffix], path)
    if image.num_channels == 1:
        out = sitk.GetImageFromArray(np.ascontiguousarray(array[0]), isVector=False)
    else:
        out = sitk.GetImageFromArray(np.ascontiguousarray(np.moveaxis(array, 0, -1)), isVector=True)
    out.SetSpacing(image.geometry.spacing)
    out.SetOrigin(image.geometry.origin)
    return out


def _fit_dtype(array: np.ndarray, allowed: tuple[type[np.generic], ...], path: Path) -> np.ndarray:
    if array.dtype.type in allowed:
        return array
    names = "/".join(np.dtype(d).name for d in allowed)
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
        for dtype in allowed:
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(np.dtype(dtype))
                if info.min <= low and high <= info.max:
                    return array.astype(dtype)
        raise ImageWriteError(
            f"{path}: values {low}..{high} do not fit the {names} pixels this format stores"
        )
    if np.float32 in allowed and np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    raise ImageWriteError(f"{path}: pixel type {array.dtype} cannot be stored losslessly (use {names})")
