"""Slice montages: the slices shown are at 25/50/75 % of the foreground, with overlay and legend."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from medseg.io import read_image
from medseg.viz.colors import class_color
from medseg.viz.intensity import display_image
from medseg.viz.montage import montage_figure, montage_positions, save_montage
from medseg.viz.overlay import overlay

CLASSES = {1: "anterior", 2: "posterior"}


def _expected(mask: np.ndarray, axis: int) -> list[int]:
    """Independent computation: the foreground's first/last index along ``axis`` and 25/50/75 % of the way."""
    idx = np.nonzero(mask)[axis]
    first, last = int(idx.min()), int(idx.max())
    return [first + int(np.floor(f * (last - first) + 0.5)) for f in (0.25, 0.5, 0.75)]


def _titled_positions(fig: object, name: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for ax in fig.axes:  # type: ignore[attr-defined]
        match = re.fullmatch(rf"{name}: \w+ ([zyx])=(\d+) \(\d+%\)", ax.get_title())
        if match:
            found.setdefault(match.group(1), []).append(int(match.group(2)))
    return found


def _legend_texts(fig: object) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]  # type: ignore[attr-defined]


def test_synthetic_montage_slices_overlays_aspect_and_legend() -> None:
    label = np.zeros((30, 40, 50), dtype=np.uint8)
    label[6:25, 10:31, 5:46] = 1
    label[12:18, 20:26, 20:30] = 2
    image = np.random.default_rng(0).normal(size=label.shape).astype(np.float32)
    positions = montage_positions(label)
    assert (
        positions
        == {a: _expected(label, a) for a in range(3)}
        == {0: [11, 15, 20], 1: [15, 20, 25], 2: [15, 25, 35]}
    )
    fig = montage_figure(image, label, spacing=(3.0, 1.0, 1.0), class_names=CLASSES)
    assert _titled_positions(fig, "label") == {"z": [11, 15, 20], "y": [15, 20, 25], "x": [15, 25, 35]}
    assert _legend_texts(fig) == ["1: anterior", "2: posterior"]
    axial = next(ax for ax in fig.axes if ax.get_title().startswith("label: axial z=15"))
    shown = np.asarray(axial.images[0].get_array())
    assert shown.shape == (40, 50, 3)
    picture = display_image(image, 3)[15]
    assert np.allclose(shown, overlay(picture, label[15]))  # the z=15 slice, class colours blended in
    assert np.allclose(shown[0, 0], picture[0, 0])  # background left as the image
    coronal = next(ax for ax in fig.axes if ax.get_title().startswith("label: coronal"))
    assert coronal.get_aspect() == 3.0  # 3 mm slices drawn three times as tall as 1 mm pixels


def test_prediction_rows_and_foreground_from_prediction_when_label_empty() -> None:
    prediction = np.zeros((20, 20, 20), dtype=np.int64)
    prediction[2:19, 4:9, 10:13] = 3
    empty = np.zeros_like(prediction)
    fig = montage_figure(np.zeros((20, 20, 20)), empty, prediction, axes=[0])
    assert _titled_positions(fig, "label") == {"z": _expected(prediction, 0)}
    assert _titled_positions(fig, "prediction") == {"z": [6, 10, 14]}
    assert _legend_texts(fig) == ["3: class 3"]
    panel = next(ax for ax in fig.axes if ax.get_title() == "prediction: axial z=10 (50%)")
    pixel = np.asarray(panel.images[0].get_array())[6, 11]
    assert np.allclose(pixel, overlay(np.zeros((1, 1)), np.array([[3]]))[0, 0])
    assert np.argmax(pixel) == int(np.argmax(class_color(3)))


def test_real_hippocampus_montage(tmp_path: Path, real_data: Callable[[str], Path]) -> None:
    task = real_data("Task04_Hippocampus")
    image = read_image(task / "imagesTr" / "hippocampus_007.nii.gz")
    label = read_image(task / "labelsTr" / "hippocampus_007.nii.gz", is_label=True)
    fig = montage_figure(image, label, label, class_names=CLASSES)
    expected = {"zyx"[a]: _expected(label.array[0], a) for a in range(3)}
    assert _titled_positions(fig, "label") == expected == _titled_positions(fig, "prediction")
    assert _legend_texts(fig) == ["1: anterior", "2: posterior"]
    out = save_montage(image, label, tmp_path / "montage.png", class_names=CLASSES)
    with PILImage.open(out) as png:
        assert png.format == "PNG" and png.width > 400 and png.height > 400


def test_real_drive_2d_rgb_is_one_panel(tmp_path: Path, real_data: Callable[[str], Path]) -> None:
    drive = real_data("DRIVE/training")
    image = read_image(drive / "images" / "21_training.tif")
    label = read_image(drive / "1st_manual" / "21_manual1.gif", is_label=True)
    fig = montage_figure(image, label, class_names={255: "vessel"})
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 1 and shown[0].get_title() == "label"
    pixels = np.asarray(shown[0].images[0].get_array())
    assert pixels.shape == (584, 565, 3)
    background = label.array[0] == 0
    red, blue = pixels[background][:, 0].mean(), pixels[background][:, 2].mean()
    assert red > blue + 0.2  # RGB composite: the fundus stays orange-red
    assert _legend_texts(fig) == ["255: vessel"]
    assert save_montage(image, label, tmp_path / "drive.png").stat().st_size > 10_000
