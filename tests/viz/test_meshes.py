"""Surface meshes (optional PyVista extra): files per class in physical space, a rendering, a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from medseg.io import Geometry, Image
from medseg.viz.colors import class_color
from medseg.viz.meshes import INSTALL_HINT, OptionalDependencyError, export_meshes, pyvista_available


def _label() -> Image:
    array = np.zeros((1, 20, 30, 40), dtype=np.uint8)
    array[0, 4:16, 5:25, 5:20] = 1
    array[0, 4:16, 5:25, 25:35] = 2
    geometry = Geometry(spacing=(0.5, 1.0, 2.0), origin=(10.0, -5.0, 3.0), direction=tuple(np.eye(3).ravel()))
    return Image(array, geometry)


def test_missing_pyvista_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyvista", None)  # import pyvista now raises ImportError
    assert not pyvista_available()
    with pytest.raises(OptionalDependencyError, match=r"medseg\[viz3d\]"):
        export_meshes(_label(), tmp_path)
    assert "pip install" in INSTALL_HINT and not any(tmp_path.iterdir())


def test_meshes_per_class_in_physical_space_and_a_rendering(tmp_path: Path) -> None:
    if not pyvista_available():
        pytest.skip("optional extra viz3d (pyvista) not installed")
    import pyvista as pv

    result = export_meshes(_label(), tmp_path, class_names={1: "left part", 2: "right"}, window_size=300)
    assert sorted(p.name for p in result.meshes.values()) == ["1_left_part.vtp", "2_right.vtp"]
    mesh = pv.read(result.meshes[1])
    assert mesh.n_points > 100
    x0, x1, y0, y1, z0, z1 = mesh.bounds
    # voxels x 5..19 (0.5 mm), y 5..24 (1 mm), z 4..15 (2 mm) from the origin; surfaces at the voxel edges
    assert abs(x0 - (10 + 4.5 * 0.5)) < 0.6 and abs(x1 - (10 + 19.5 * 0.5)) < 0.6
    assert abs(y0 - (-5 + 4.5)) < 0.8 and abs(y1 - (-5 + 24.5)) < 0.8
    assert abs(z0 - (3 + 3.5 * 2)) < 1.2 and abs(z1 - (3 + 15.5 * 2)) < 1.2
    assert result.picture is not None
    with PILImage.open(result.picture) as png:
        pixels = np.asarray(png.convert("RGB")).reshape(-1, 3).astype(float)
    for value in (1, 2):
        colour = np.asarray(class_color(value), dtype=float)
        cosine = pixels @ (colour / np.linalg.norm(colour)) / np.maximum(np.linalg.norm(pixels, axis=1), 1e-6)
        assert (cosine > 0.99).sum() > 200  # each class drawn in its colour
    stl = export_meshes(_label(), tmp_path / "stl", fmt="stl", render=False)
    assert stl.picture is None and len(stl.meshes) == 2
    assert all(p.suffix == ".stl" and p.stat().st_size > 0 for p in stl.meshes.values())
