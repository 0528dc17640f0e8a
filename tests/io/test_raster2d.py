"""2D rasters: real DRIVE/ISBI files, palette labels, RGB labels, writing PNG/TIFF/BMP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from medseg.core.errors import ImageReadError, ImageWriteError
from medseg.io import Geometry, Image, read_image, write_image


def test_drive_rgb_tif_gif_label_and_mask(shared_data: Path) -> None:
    root = shared_data / "DRIVE" / "training"
    image = read_image(root / "images" / "21_training.tif")
    reference = np.asarray(PILImage.open(root / "images" / "21_training.tif").convert("RGB"))
    assert image.array.shape == (3, 584, 565)
    np.testing.assert_array_equal(image.array, np.moveaxis(reference, -1, 0))
    label = read_image(root / "1st_manual" / "21_manual1.gif", is_label=True)
    mask = read_image(root / "mask" / "21_training_mask.gif", is_label=True)
    for img, name in ((label, "1st_manual/21_manual1.gif"), (mask, "mask/21_training_mask.gif")):
        assert img.array.shape == (1, 584, 565)
        assert np.issubdtype(img.array.dtype, np.integer)
        np.testing.assert_array_equal(img.array[0], np.asarray(PILImage.open(root / name)))
        assert set(np.unique(img.array).tolist()) == {0, 255}


def test_isbi_png_image_and_label(shared_data: Path) -> None:
    root = shared_data / "ISBI2012_membrane"
    image = read_image(root / "image" / "0.png")
    label = read_image(root / "label" / "0.png", is_label=True)
    assert image.array.shape == label.array.shape == (1, 512, 512)
    np.testing.assert_array_equal(image.array[0], np.asarray(PILImage.open(root / "image" / "0.png")))
    assert set(np.unique(label.array).tolist()) == {0, 255}
    assert image.geometry == Geometry.identity(2)


def test_palette_label_gives_indices_not_colours(tmp_path: Path) -> None:
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    pal = PILImage.fromarray(indices, mode="P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    for suffix in (".png", ".gif"):
        pal.save(tmp_path / f"lab{suffix}")
        label = read_image(tmp_path / f"lab{suffix}", is_label=True)
        np.testing.assert_array_equal(label.array, indices[None])
        colours = read_image(tmp_path / f"lab{suffix}")  # as an image: the palette colours
        assert colours.array.shape == (3, 2, 3)
        np.testing.assert_array_equal(colours.array[:, 0, 1], [255, 0, 0])


def test_rgba_drops_alpha_and_gray_rgb_label_becomes_one_channel(tmp_path: Path) -> None:
    rgba = np.random.default_rng(0).integers(0, 256, (5, 4, 4), dtype=np.uint8)
    PILImage.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    image = read_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(image.array, np.moveaxis(rgba[..., :3], -1, 0))
    gray = np.array([[0, 3], [3, 1]], dtype=np.uint8)
    PILImage.fromarray(np.stack([gray] * 3, -1), mode="RGB").save(tmp_path / "gray_rgb.png")
    label = read_image(tmp_path / "gray_rgb.png", is_label=True)
    np.testing.assert_array_equal(label.array, gray[None])


def test_colour_label_is_rejected(tmp_path: Path) -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    PILImage.fromarray(rgb, mode="RGB").save(tmp_path / "colour.png")
    with pytest.raises(ImageReadError, match=r"colour\.png: label has 3 colour channels that differ at 1 "):
        read_image(tmp_path / "colour.png", is_label=True)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_write_read_roundtrip_uint8(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    gray = Image(rng.integers(0, 256, (1, 7, 9), dtype=np.uint8), Geometry.identity(2))
    rgb = Image(rng.integers(0, 256, (3, 7, 9), dtype=np.uint8), Geometry.identity(2))
    for name, img in (("gray", gray), ("rgb", rgb)):
        path = write_image(img, tmp_path / f"{name}{suffix}")
        back = read_image(path)
        assert back.array.dtype == np.uint8
        np.testing.assert_array_equal(back.array, img.array)
        with PILImage.open(path) as ref:  # an independent reader agrees on the pixels
            ref_arr = np.asarray(ref)
        expected = img.array[0] if name == "gray" else np.moveaxis(img.array, 0, -1)
        np.testing.assert_array_equal(ref_arr, expected)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_write_uint16_label_roundtrip(tmp_path: Path, suffix: str) -> None:
    label = np.array([[[0, 300], [65535, 7]]], dtype=np.int64)  # fits uint16: converted losslessly
    back = read_image(write_image(Image(label, Geometry.identity(2)), tmp_path / f"l{suffix}"), is_label=True)
    assert back.array.dtype == np.uint16
    np.testing.assert_array_equal(back.array, label)


def test_write_raster_rejects_what_it_cannot_store(tmp_path: Path) -> None:
    vol = Image(np.zeros((1, 2, 2, 2), np.uint8), Geometry.identity(3))
    with pytest.raises(ImageWriteError, match=r"v\.png: \.png stores 2D images, got a 3D image"):
        write_image(vol, tmp_path / "v.png")
    big = Image(np.array([[[0, 300]]], dtype=np.int32), Geometry.identity(2))
    with pytest.raises(ImageWriteError, match=r"b\.bmp: values 0\.\.300 do not fit"):
        write_image(big, tmp_path / "b.bmp")
    floats = Image(np.zeros((1, 2, 2), np.float32), Geometry.identity(2))
    with pytest.raises(ImageWriteError, match=r"f\.png: pixel type float32"):
        write_image(floats, tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []
