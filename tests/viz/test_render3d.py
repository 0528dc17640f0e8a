"""The rotating 3-D GIF: correct silhouettes, class colours, frame count, and fast enough."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageSequence

from medseg.io import read_image
from medseg.viz.colors import class_color
from medseg.viz.render3d import project, rotation_frames, save_rotation_gif, shade, surface_points

Triple = tuple[int, int, int]


def _box(shape: Triple, lo: Triple, hi: Triple, value: int = 1) -> np.ndarray:
    label = np.zeros(shape, dtype=np.uint8)
    label[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = value
    return label


def _extent(values: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(values)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def test_projection_silhouette_follows_the_rotation() -> None:
    label = _box((130, 130, 130), (40, 55, 10), (60, 75, 110))  # 20 tall, 20 deep, 100 wide (x)
    box = tuple(slice(0, n) for n in label.shape)
    points = surface_points(label, box, (1.0, 1.0, 1.0))
    front, _ = project(points, azimuth=0.0, elevation=0.0)
    side, _ = project(points, azimuth=90.0, elevation=0.0)
    height, width = _extent(front)
    assert abs(height - 20) <= 2 and abs(width - 100) <= 2  # seen from the front: x is across
    height, width = _extent(side)
    assert abs(height - 20) <= 2 and abs(width - 20) <= 2  # turned by 90 degrees: only the end face
    assert set(np.unique(front)) == {0, 1}


def test_nearest_surface_wins_and_colours_are_the_class_colours() -> None:
    label = _box((40, 40, 40), (10, 5, 10), (30, 15, 30), value=1)  # near the viewer (small y)
    label[10:30, 25:35, 10:30] = 2  # behind it
    box = tuple(slice(0, n) for n in label.shape)
    values, depth = project(surface_points(label, box, (1.0, 1.0, 1.0)), azimuth=0.0, elevation=0.0)
    centre = values[values.shape[0] // 2 - 2 : values.shape[0] // 2 + 2, values.shape[1] // 2]
    assert np.all(centre == 1)  # the front class hides the one behind
    picture = shade(values, depth)
    lit = picture[values == 1].astype(float)
    assert np.corrcoef(lit.mean(0), class_color(1))[0, 1] > 0.95  # a shade of class 1's red
    assert np.all(picture[values == 0] == picture[0, 0])  # background flat


def test_gif_of_a_100_cube_volume_is_fast_and_complete(tmp_path: Path) -> None:
    z, y, x = np.mgrid[:100, :100, :100]
    ball = ((z - 50) ** 2 + (y - 50) ** 2 + (x - 50) ** 2 < 40**2).astype(np.uint8)
    ball[(z > 50) & (ball > 0)] = 2
    start = time.perf_counter()
    path = save_rotation_gif(
        ball, tmp_path / "ball.gif", prediction=ball, n_frames=24, class_names={1: "lower", 2: "upper"}
    )
    elapsed = time.perf_counter() - start
    assert elapsed < 20.0, f"{elapsed:.1f} s for 24 frames of a 100^3 label"
    with PILImage.open(path) as gif:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    assert len(frames) == 24
    height, width = frames[0].shape[:2]
    assert 2 * 240 <= width <= 2 * 240 + 20 and 240 < height < 320
    red, green = np.asarray(class_color(1)), np.asarray(class_color(2))
    for colour in (red, green):  # both classes visible, in their colours (shaded)
        unit = colour / np.linalg.norm(colour)
        pixels = frames[3].reshape(-1, 3).astype(float)
        norms = np.linalg.norm(pixels, axis=1)
        cosine = pixels @ unit / np.maximum(norms, 1e-6)
        assert ((cosine > 0.99) & (norms > 60)).sum() > 500


def test_anisotropic_spacing_is_rendered_in_millimetres() -> None:
    label = _box((12, 60, 60), (2, 10, 10), (10, 50, 50))  # 8 slices of 5 mm = 40 mm, 40 x 40 voxels of 1 mm
    frames = rotation_frames(label, spacing=(5.0, 1.0, 1.0), n_frames=1, elevation=0.0, view_size=200)
    colour = np.asarray(class_color(1), dtype=float)
    pixels = frames[0][: 2 * 17 + 200].astype(float)  # caption lines and the view, not the legend below
    cosine = pixels @ (colour / np.linalg.norm(colour)) / np.maximum(np.linalg.norm(pixels, axis=-1), 1e-6)
    height, width = _extent((cosine > 0.98) & (np.linalg.norm(pixels, axis=-1) > 40))
    assert abs(height / width - 1.0) < 0.1  # a 40 mm cube looks square, not 8:40


def test_real_hippocampus_rotation(tmp_path: Path, real_data: Callable[[str], Path]) -> None:
    task = real_data("Task04_Hippocampus")
    label = read_image(task / "labelsTr" / "hippocampus_007.nii.gz", is_label=True)
    names = {1: "anterior", 2: "posterior"}
    path = save_rotation_gif(label, tmp_path / "h.gif", n_frames=12, class_names=names)
    with PILImage.open(path) as gif:
        assert gif.n_frames == 12 and gif.width >= 240
