"""Surface meshes per class with PyVista (optional extra ``pip install 'medseg[viz3d]'``).

Each class becomes a marching-cubes surface (lightly smoothed) in physical coordinates when the
label is an :class:`~medseg.io.Image` (origin and direction applied; millimetres from the first
voxel otherwise), saved as ``.vtp`` or ``.stl``; one off-screen rendering of all of them is saved as
a PNG. Without PyVista, :class:`OptionalDependencyError` says what to install.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medseg.core.errors import MedsegError
from medseg.io import Image
from medseg.viz.colors import class_color, class_names_of, present_values, rgb01

INSTALL_HINT = "surface meshes need PyVista: pip install 'medseg[viz3d]'"


class OptionalDependencyError(MedsegError, ImportError):
    """A feature needs a package from an optional extra that is not installed."""


@dataclass(frozen=True)
class MeshExport:
    """What :func:`export_meshes` wrote: one mesh file per class value, and the rendering (if any)."""

    meshes: dict[int, Path] = field(default_factory=dict)
    picture: Path | None = None


def _pyvista() -> Any:
    try:
        import pyvista
    except ImportError as exc:
        raise OptionalDependencyError(INSTALL_HINT) from exc
    return pyvista


def pyvista_available() -> bool:
    """Whether the optional PyVista extra is installed."""
    try:
        _pyvista()
    except OptionalDependencyError:
        return False
    return True


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "class"


def class_mesh(label: np.ndarray, value: int, spacing: Sequence[float], smooth: int = 15) -> Any:
    """The PyVista surface of ``label == value`` (array order ``(z, y, x)``, ``spacing`` likewise)."""
    pv = _pyvista()
    mask = np.pad((label == value).astype(np.float32), 1)
    grid = pv.ImageData(
        dimensions=mask.shape[::-1],
        spacing=tuple(float(s) for s in spacing[::-1]),
        origin=tuple(-float(s) for s in spacing[::-1]),
    )
    grid.point_data["mask"] = mask.ravel(order="C")
    surface = grid.contour([0.5], scalars="mask")
    return surface.smooth_taubin(n_iter=smooth) if smooth and surface.n_points else surface


def export_meshes(
    label: np.ndarray | Image,
    folder: str | os.PathLike[str],
    *,
    spacing: Sequence[float] | None = None,
    class_names: Mapping[int, str] | None = None,
    fmt: str = "vtp",
    render: bool = True,
    window_size: int = 600,
) -> MeshExport:
    """Write ``folder/<value>_<name>.<fmt>`` per class and ``folder/meshes.png``; see the module docstring."""
    if fmt not in ("vtp", "stl"):
        raise ValueError(f"mesh format must be 'vtp' or 'stl', got {fmt!r}")
    pv = _pyvista()
    array = np.asarray(label.array[0] if isinstance(label, Image) else label)
    if array.ndim != 3:
        raise ValueError(f"surface meshes need a 3D label, got shape {array.shape}")
    geometry = label.geometry if isinstance(label, Image) else None
    sp = tuple(spacing or (geometry.array_spacing if geometry else (1.0, 1.0, 1.0)))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    names = class_names_of(class_names, present_values(array))
    meshes: dict[int, Any] = {}
    paths: dict[int, Path] = {}
    for value in present_values(array):
        mesh = class_mesh(array, value, sp)
        if geometry is not None:
            mesh.points = mesh.points @ geometry.direction_matrix.T + np.asarray(geometry.origin)
        paths[value] = out / f"{value}_{_slug(names[value])}.{fmt}"
        mesh.save(paths[value])
        meshes[value] = mesh
    picture = None
    if render and meshes:
        many = len(meshes) >= 12  # a long legend: widen the picture so that it sits beside the surfaces
        width = round(window_size * (1.5 if many else 1.0))
        plotter = pv.Plotter(off_screen=True, window_size=(width, window_size))
        plotter.set_background("white")
        for value, mesh in meshes.items():
            plotter.add_mesh(mesh, color=rgb01(class_color(value)), smooth_shading=True)
        plotter.add_legend(
            [(f"{v}: {names[v]}", rgb01(class_color(v))) for v in meshes],
            bcolor="white",
            size=(0.16 if many else 0.4, min(0.06 * len(meshes), 0.95)),
            loc="upper left",
            face="rectangle",
            background_opacity=0.0,
        )
        plotter.view_isometric()
        plotter.camera.zoom(1.0 if many else 1.2)
        picture = out / "meshes.png"
        plotter.screenshot(str(picture))
        plotter.close()
    return MeshExport(paths, picture)
