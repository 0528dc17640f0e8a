"""Class colours, names, windowing and overlays: the building blocks every figure shares."""

from __future__ import annotations

import numpy as np
import pytest

from medseg.io import Geometry, Image
from medseg.viz.colors import class_color, class_names_of, color_table, present_values
from medseg.viz.inputs import prepare_case
from medseg.viz.intensity import display_image, window_limits
from medseg.viz.overlay import DEFAULT_ALPHA, label_rgba, overlay


def test_class_colours_are_fixed_distinct_and_background_has_none() -> None:
    colours = [class_color(v) for v in range(1, 118)]
    assert len(set(colours)) == 117  # TotalSegmentator's 117 classes all distinguishable
    assert class_color(1) == (230, 25, 35) and class_color(2) == (40, 190, 60)
    assert color_table(3)[2].tolist() == list(class_color(2))
    with pytest.raises(ValueError, match="transparent"):
        class_color(0)


def test_class_names_accept_both_directions_and_name_the_unnamed() -> None:
    assert class_names_of({"background": 0, "liver": 1, "tumour": 2}) == {1: "liver", 2: "tumour"}
    assert class_names_of({1: "vessel"}, values=[1, 4]) == {1: "vessel", 4: "class 4"}
    assert class_names_of(None, values=[0, 3]) == {3: "class 3"}
    assert present_values(np.array([[0, 2], [5, 2]]), None) == [2, 5]


def test_window_ignores_hot_pixels() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(100, 10, size=(64, 64)).astype(np.float32)
    image[0, 0] = 1e6
    low, high = window_limits(image)
    assert 60 < low < 80 and 120 < high < 140
    shown = display_image(image, 2)
    assert shown.min() == 0.0 and shown.max() == 1.0 and shown[0, 0] == 1.0


def test_three_channel_2d_is_rgb_and_other_multichannel_shows_channel_0() -> None:
    rgb = np.zeros((3, 8, 8), dtype=np.uint8)
    rgb[0] = 200
    rgb[1, :4] = 100
    shown = display_image(rgb, 2)
    assert shown.shape == (8, 8, 3)
    assert np.all(shown[..., 0] >= shown[..., 1]) and np.all(shown[..., 2] == 0)
    volume = np.stack([np.arange(64, dtype=np.float32).reshape(4, 4, 4), np.zeros((4, 4, 4), np.float32)])
    assert display_image(volume, 3).shape == (4, 4, 4)
    assert display_image(volume, 3)[3, 3, 3] == 1.0


def test_label_zero_is_transparent_and_classes_blend_in_their_colour() -> None:
    label = np.array([[0, 1], [2, 0]])
    rgba = label_rgba(label)
    assert rgba[0, 0, 3] == 0 and rgba[1, 1, 3] == 0 and rgba[0, 1, 3] == 1
    picture = np.full((2, 2), 0.5, dtype=np.float32)
    blended = overlay(picture, label)
    assert np.allclose(blended[0, 0], 0.5)  # background untouched
    expected = 0.5 * (1 - DEFAULT_ALPHA) + np.asarray(class_color(2)) / 255 * DEFAULT_ALPHA
    assert np.allclose(blended[1, 0], expected)


def test_prepare_case_takes_images_labels_and_spacing_from_geometry() -> None:
    geometry = Geometry.from_array_spacing((3.0, 1.0, 0.5))
    image = Image(np.zeros((2, 4, 5, 6), dtype=np.float32), geometry)
    label = Image(np.ones((1, 4, 5, 6), dtype=np.uint8), geometry)
    case = prepare_case(image, label)
    assert case.spacing == (3.0, 1.0, 0.5) and case.shape == (4, 5, 6) and case.label is not None
    assert case.label.shape == (4, 5, 6)
    with pytest.raises(ValueError, match="does not match"):
        prepare_case(np.zeros((4, 5, 6)), np.zeros((4, 5, 7), dtype=np.uint8))
