"""Scroll GIFs: one frame per slice (capped), sizes bounded, spacing respected, colours per class."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageSequence

from medseg.io import read_image
from medseg.viz.colors import class_color
from medseg.viz.overlay import DEFAULT_ALPHA
from medseg.viz.scroll import save_scroll_gif, scroll_frames


def _decode(path: Path) -> list[np.ndarray]:
    with PILImage.open(path) as gif:
        assert gif.format == "GIF"
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def _find_panel_origin(frame: np.ndarray, colour: np.ndarray) -> tuple[int, int]:
    hits = np.argwhere(np.all(np.abs(frame.astype(int) - colour) <= 6, axis=-1))
    assert len(hits), f"colour {colour} not found in the frame"
    return int(hits[:, 0].min()), int(hits[:, 1].min())


def test_every_slice_is_a_frame_with_the_class_colour(tmp_path: Path) -> None:
    label = np.zeros((20, 32, 32), dtype=np.uint8)
    label[5:15, 8:24, 8:24] = 2
    image = np.zeros(label.shape, dtype=np.float32)  # flat image: windowed to black
    path = save_scroll_gif(image, label, tmp_path / "scroll.gif", class_names={2: "posterior"})
    frames = _decode(path)
    assert len(frames) == 20
    built = scroll_frames(image, label, class_names={2: "posterior"})
    assert frames[0].shape == built[0].shape
    expected = np.rint(np.asarray(class_color(2)) * DEFAULT_ALPHA)  # class colour over black
    on = _find_panel_origin(frames[10], expected)
    assert np.abs(frames[10][on[0] + 20, on[1] + 20].astype(int) - expected).max() <= 6
    coloured = np.all(np.abs(frames[0].astype(int) - expected) <= 6, axis=-1)
    assert not coloured[40:-30].any()  # slice 0 has no label (the legend swatch below is not counted)


def test_frames_are_capped_and_downsampled(tmp_path: Path) -> None:
    label = np.zeros((150, 480, 400), dtype=np.uint8)
    label[40:100, 200:400, 100:300] = 1
    image = np.random.default_rng(0).random(label.shape, dtype=np.float32)
    path = save_scroll_gif(image, label, tmp_path / "big.gif", prediction=label, max_frames=16, max_side=160)
    frames = _decode(path)
    assert len(frames) == 16
    height, width = frames[0].shape[:2]
    assert width == 360 and height <= 160 + 80  # two 160-pixel panels; 360 is the narrowest frame (legend)
    single = scroll_frames(image, label, max_frames=16, max_side=500)[0]
    assert single.shape[1] == 400 + 2 * 4  # not shrunk below max_side, never enlarged beyond native
    assert path.stat().st_size < 2_000_000


def test_anisotropic_planes_keep_their_physical_aspect() -> None:
    label = np.zeros((10, 40, 60), dtype=np.uint8)
    label[2:8, 10:30, 10:50] = 1
    image = np.zeros(label.shape, dtype=np.float32)
    colour = np.rint(np.asarray(class_color(1)) * DEFAULT_ALPHA)
    frame = scroll_frames(image, label, axis=1, spacing=(4.0, 1.0, 1.0), max_side=400, min_side=0)[20]
    mask = np.all(np.abs(frame.astype(int) - colour) <= 6, axis=-1)
    rows, cols = np.nonzero(mask)
    # 6 slices of 4 mm x 40 columns of 1 mm: 24 x 40 screen pixels
    assert rows.max() - rows.min() + 1 == 24 and cols.max() - cols.min() + 1 == 40


def test_2d_image_gives_one_frame() -> None:
    image = np.random.default_rng(1).random((3, 50, 70))
    label = np.zeros((50, 70), dtype=np.uint8)
    label[10:20, 10:30] = 1
    frames = scroll_frames(image, label)
    assert len(frames) == 1 and frames[0].ndim == 3


def test_real_hippocampus_scroll(tmp_path: Path, real_data: Callable[[str], Path]) -> None:
    task = real_data("Task04_Hippocampus")
    image = read_image(task / "imagesTr" / "hippocampus_007.nii.gz")
    label = read_image(task / "labelsTr" / "hippocampus_007.nii.gz", is_label=True)
    frames = _decode(save_scroll_gif(image, label, tmp_path / "h.gif", prediction=label, axis=2))
    assert len(frames) == label.array.shape[3]  # every sagittal slice
    assert frames[0].shape[1] >= 2 * 192  # small crops are enlarged to be readable
