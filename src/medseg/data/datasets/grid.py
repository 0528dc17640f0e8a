"""The voxel grid of an image file (shape, geometry, channels) and the checks that grids agree.

:func:`read_grid` reads only the header where SimpleITK can (``ImageFileReader.ReadImageInformation``)
and falls back to a full :func:`medseg.io.read_image` for formats SimpleITK cannot open (e.g. GIF).
:func:`check_case_grids` is shared by loading a case and by the cheap ``CaseDataset.check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medseg.core.errors import DatasetError, ImageReadError
from medseg.io import Geometry, Image, read_image
from medseg.io.grid_align import axis_map


@dataclass(frozen=True)
class Grid:
    """Where a file's voxels sit: spatial shape (NumPy order), geometry and number of channels."""

    path: Path
    shape: tuple[int, ...]
    geometry: Geometry
    channels: int

    @classmethod
    def of_image(cls, path: Path, image: Image) -> Grid:
        """The grid of an image already read from ``path``."""
        return cls(path, image.spatial_shape, image.geometry, image.num_channels)

    def describe(self) -> str:
        """A short text: shape, spacing, origin and direction."""
        g = self.geometry
        return (
            f"shape {self.shape}, spacing {_fmt(g.spacing)}, origin {_fmt(g.origin)}, "
            f"direction {_fmt(g.direction)}"
        )


def read_grid(path: Path, *, is_label: bool = False) -> Grid:
    """The grid of an image file, from its header alone where SimpleITK supports the format.

    ``is_label`` is passed on to :func:`medseg.io.read_image` when the file must be read fully
    (palette GIF labels then stay one channel of class indices).
    """
    import SimpleITK as sitk

    if path.is_dir():  # a DICOM series: its geometry comes from the slices' position tags
        return Grid.of_image(path, read_image(path, is_label=is_label))
    if not path.is_file():
        raise ImageReadError(f"{path}: file does not exist")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return Grid.of_image(path, read_image(path, is_label=is_label))
    size = reader.GetSize()
    dim = len(size)
    direction = np.asarray(reader.GetDirection()).reshape(dim, dim)
    if dim == 4:  # MSD stores channels as a 4th axis
        geometry = Geometry(reader.GetSpacing()[:3], reader.GetOrigin()[:3], tuple(direction[:3, :3].ravel()))
        return Grid(path, tuple(int(s) for s in reversed(size[:3])), geometry, int(size[3]))
    if dim not in (2, 3):
        raise ImageReadError(f"{path}: unsupported {dim}D image (expected 2D, 3D or 4D)")
    geometry = Geometry(reader.GetSpacing(), reader.GetOrigin(), tuple(direction.ravel()))
    return Grid(path, tuple(int(s) for s in reversed(size)), geometry, int(reader.GetNumberOfComponents()))


def check_case_grids(
    case_id: str,
    channels: Sequence[Grid],
    label: Grid | None = None,
    mask: Grid | None = None,
    expected_channels: int | None = None,
) -> None:
    """Raise :class:`DatasetError` unless all files of a case share one grid (shape and geometry).

    Channel files must agree with the first one; the label and mask must be single-channel and sit on
    the image grid; with ``expected_channels`` the channel total must match.
    """
    first = channels[0]
    for other in channels[1:]:
        _same_grid(case_id, "channel file", first, other)
    total = sum(g.channels for g in channels)
    if expected_channels is not None and total != expected_channels:
        names = ", ".join(str(g.path) for g in channels)
        raise DatasetError(
            f"case {case_id}: {names} hold {total} channel(s) but {expected_channels} are expected"
        )
    for role, grid in (("label", label), ("mask", mask)):
        if grid is None:
            continue
        if grid.channels != 1:
            raise DatasetError(f"case {case_id}: {role} {grid.path} has {grid.channels} channels, expected 1")
        _same_grid(case_id, role, first, grid)


def _same_grid(case_id: str, role: str, ref: Grid, other: Grid) -> None:
    if role != "channel file" and axis_map(other.geometry, other.shape, ref.geometry, ref.shape) is not None:
        return  # the same voxels stored in another axis order or direction: aligned exactly when loaded
    if other.shape != ref.shape:
        raise DatasetError(
            f"case {case_id}: {role} {other.path} has shape {other.shape} but image {ref.path} has {ref.shape}"
        )
    if not other.geometry.is_close(ref.geometry):
        raise DatasetError(
            f"case {case_id}: {role} {other.path} geometry ({other.describe()}) differs from "
            f"image {ref.path} ({ref.describe()})"
        )


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"
