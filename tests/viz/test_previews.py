"""Worst-case previews: a class legend, transparent background, the same colours as other figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from medseg.viz.colors import class_color
from medseg.viz.montage import montage_figure
from medseg.viz.previews import HEADERS, foreground_centre, preview_figure, save_case_preview

TAB10_BLUE = (31, 119, 180)  # what the old preview painted wherever the label was 0


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image = np.random.default_rng(0).normal(size=(1, 16, 24, 24)).astype(np.float32)
    label = np.zeros((16, 24, 24), dtype=np.int64)
    label[4:12, 6:18, 6:12] = 1
    label[4:12, 6:18, 12:18] = 2
    prediction = np.where(label > 0, 1, 0)
    return image, label, prediction


def _legend_texts(fig: object) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]  # type: ignore[attr-defined]


def test_preview_has_a_legend_and_no_colour_where_the_label_is_zero() -> None:
    image, label, prediction = _case()
    fig = preview_figure(image, label, prediction, class_names={1: "anterior", 2: "posterior"})
    assert _legend_texts(fig) == ["1: anterior", "2: posterior"]
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 15 and [ax.get_title() for ax in axes[:5]] == list(HEADERS)
    centre = foreground_centre(label)
    label_panel = np.asarray(axes[1].images[0].get_array())  # axial label panel, RGBA
    plane = label[centre[0]]
    assert np.all(label_panel[plane == 0][:, 3] == 0)  # background transparent
    assert np.allclose(label_panel[plane == 2][:, :3], np.asarray(class_color(2)) / 255)
    assert axes[1].get_facecolor()[:3] == (0.0, 0.0, 0.0)


def test_saved_preview_shows_black_not_blue_background_and_matches_montage_colours(tmp_path: Path) -> None:
    image, label, prediction = _case()
    path = save_case_preview(image, label, prediction, tmp_path / "previews" / "worst_case.png", title="ep 3")
    with PILImage.open(path) as png:
        pixels = np.asarray(png.convert("RGB")).reshape(-1, 3).astype(int)
    assert not np.any(np.all(np.abs(pixels - TAB10_BLUE) <= 3, axis=1))
    assert np.all(np.abs(pixels - class_color(2)) <= 3, axis=1).sum() > 50  # label panels in class 2's colour
    montage = montage_figure(image, label, prediction, class_names={1: "anterior", 2: "posterior"})
    handles = [h.get_facecolor()[:3] for legend in montage.legends for h in legend.legend_handles]
    preview = preview_figure(image, label, prediction, class_names={1: "anterior", 2: "posterior"})
    assert handles == [h.get_facecolor()[:3] for legend in preview.legends for h in legend.legend_handles]
    assert np.allclose(handles[1], np.asarray(class_color(2)) / 255)


def test_2d_case_and_preview_callback_arrays(tmp_path: Path) -> None:
    image = np.random.default_rng(1).random((3, 40, 50)).astype(np.float32)
    label = np.zeros((40, 50), dtype=np.uint8)
    label[10:30, 10:20] = 1
    fig = preview_figure(image, label, np.zeros_like(label))
    assert len([ax for ax in fig.axes if ax.images]) == 5 and _legend_texts(fig) == ["1: class 1"]
    assert np.asarray(fig.axes[0].images[0].get_array()).shape == (40, 50, 3)  # RGB composite
    out = save_case_preview(image, label, label, tmp_path / "p.png")
    assert out.stat().st_size > 1000
