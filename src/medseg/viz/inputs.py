"""One case ready to draw: the image to show, label and prediction maps, and the voxel spacing.

Every visual accepts a :class:`medseg.io.Image` or a NumPy array for each input. Arrays follow the
io convention (``(C, *spatial)`` images, labels with or without their single channel axis); a bare
image array without a label is taken as spatial unless ``spacing`` says otherwise. The intensity
window is estimated once per case; planes are windowed when drawn, so large volumes are not
copied as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from medseg.io import Image
from medseg.viz.intensity import apply_window, shown_channels, window_limits
from medseg.viz.slicing import plane

ArrayLike = np.ndarray | Image


@dataclass(frozen=True)
class Case:
    """A case to draw. ``shown``: the raw ``spatial`` grey or ``spatial + (3,)`` RGB values."""

    shown: np.ndarray
    limits: tuple[float, float]
    label: np.ndarray | None
    prediction: np.ndarray | None
    spacing: tuple[float, ...]

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions (2 or 3)."""
        return len(self.spacing)

    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape."""
        return tuple(self.shown.shape[: self.ndim])

    @cached_property
    def picture(self) -> np.ndarray:
        """The whole image windowed to ``[0, 1]``."""
        return apply_window(self.shown, self.limits)

    def picture_plane(self, axis: int | None, index: int = 0) -> np.ndarray:
        """Plane ``index`` along ``axis`` windowed to ``[0, 1]`` (``axis=None``: the 2D image)."""
        return apply_window(self.shown if axis is None else plane(self.shown, axis, index), self.limits)

    def masks(self) -> list[np.ndarray]:
        """The label maps present (label first)."""
        return [m for m in (self.label, self.prediction) if m is not None]


def _label_array(value: ArrayLike | None, spatial_ndim: int) -> np.ndarray | None:
    if value is None:
        return None
    array = value.array if isinstance(value, Image) else np.asarray(value)
    if isinstance(value, Image) or (array.ndim == spatial_ndim + 1 and array.shape[0] == 1):
        array = array[0]
    if array.dtype.kind == "f":
        array = np.rint(array).astype(np.int64)
    elif array.dtype.kind not in "iu":
        array = array.astype(np.int64)
    return array


def _spatial_ndim(image: ArrayLike, label: ArrayLike | None, spacing: Sequence[float] | None) -> int:
    if spacing is not None:
        return len(spacing)
    if isinstance(image, Image):
        return image.geometry.dim
    if isinstance(label, Image):
        return label.geometry.dim
    arr = np.asarray(image)
    if label is not None:
        lab = np.asarray(label)
        if lab.ndim == arr.ndim and lab.shape[0] == 1 and lab.shape[1:] == arr.shape[1:]:
            return lab.ndim - 1
        return lab.ndim if lab.ndim in (2, 3) else lab.ndim - 1
    return 2 if arr.ndim == 2 else 3


def prepare_case(
    image: ArrayLike,
    label: ArrayLike | None = None,
    prediction: ArrayLike | None = None,
    spacing: Sequence[float] | None = None,
    channel: int | None = None,
) -> Case:
    """Pick the channel(s) to show, estimate the window and check that the maps match the image.

    ``spacing`` is in array-axis order; by default it comes from the first :class:`Image` given, else 1.
    """
    ndim = _spatial_ndim(image, label if label is not None else prediction, spacing)
    if ndim not in (2, 3):
        raise ValueError(f"only 2D and 3D cases can be drawn, got {ndim} spatial dimensions")
    if spacing is None:
        source = next((v for v in (image, label, prediction) if isinstance(v, Image)), None)
        spacing = source.geometry.array_spacing if source is not None else (1.0,) * ndim
    array = image.array if isinstance(image, Image) else np.asarray(image)
    shown = shown_channels(array, ndim, channel)
    lab, pred = _label_array(label, ndim), _label_array(prediction, ndim)
    for name, mask in (("label", lab), ("prediction", pred)):
        if mask is not None and mask.shape != shown.shape[:ndim]:
            raise ValueError(f"{name} shape {mask.shape} does not match the image's {shown.shape[:ndim]}")
    return Case(shown, window_limits(shown), lab, pred, tuple(float(s) for s in spacing))
