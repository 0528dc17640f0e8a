"""An image value: a channels-first array plus the :class:`Geometry` of its voxel grid."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from medseg.io.geometry import Geometry


@dataclass
class Image:
    """A channels-first array ``(C, *spatial)`` with its geometry and free-form string metadata.

    ``array`` keeps the dtype it was stored with (labels stay integer). ``meta`` holds header
    fields worth carrying along (e.g. the DICOM series UID or the source path).
    """

    array: np.ndarray
    geometry: Geometry
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != self.geometry.dim + 1:
            raise ValueError(
                f"Image array must be (C, *spatial) with {self.geometry.dim} spatial axes, "
                f"got shape {self.array.shape}"
            )

    @property
    def num_channels(self) -> int:
        """Number of channels (first array axis)."""
        return int(self.array.shape[0])

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Array shape without the channel axis, in NumPy order."""
        return tuple(int(s) for s in self.array.shape[1:])

    @property
    def dim(self) -> int:
        """Number of spatial dimensions."""
        return self.geometry.dim

    def with_array(self, array: np.ndarray) -> Image:
        """The same geometry and metadata around a new array of the same spatial shape."""
        if tuple(array.shape[1:]) != self.spatial_shape:
            raise ValueError(f"new array shape {array.shape} does not match {self.array.shape}")
        return replace(self, array=array, meta=dict(self.meta))
