"""Writing figures (PNG) and animations (GIF) atomically, with frames kept to a sensible size."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medseg.core.atomic import atomic_open

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def readable(path: Path) -> Path:
    """Make a written file readable by everyone (atomic writes start as owner-only temporaries)."""
    path.chmod(0o644)
    return path


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 90) -> Path:
    """Write ``fig`` as a PNG at ``path`` (parents created, atomic); returns the path."""
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    return readable(Path(path))


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 10.0) -> Path:
    """Write ``(h, w, 3)`` uint8 frames as a looping GIF (atomic); returns the path."""
    from PIL import Image

    if not frames:
        raise ValueError("a GIF needs at least one frame")
    rgb = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8), "RGB") for f in frames]
    # one palette for all frames (from a sample of them), no dithering: stable colours, small files
    sample = rgb[:: max(1, len(rgb) // 8)]
    mosaic = Image.new("RGB", (sum(i.width for i in sample), max(i.height for i in sample)))
    for k, offset in enumerate(np.cumsum([0] + [i.width for i in sample[:-1]])):
        mosaic.paste(sample[k], (int(offset), 0))
    palette = mosaic.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    images = [i.quantize(palette=palette, dither=Image.Dither.NONE) for i in rgb]
    duration = max(20, round(1000.0 / fps))
    with atomic_open(path, "wb") as handle:
        images[0].save(
            handle,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=duration,
            loop=0,
            optimize=False,
        )
    return readable(Path(path))


def resize_rgb(rgb: np.ndarray, height: int, width: int, nearest: bool = False) -> np.ndarray:
    """An ``(h, w, 3)`` uint8 image resized to ``(height, width)`` (area-like filter, or nearest)."""
    from PIL import Image

    if rgb.shape[:2] == (height, width):
        return rgb
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(rgb, "RGB").resize((width, height), resample), dtype=np.uint8)


def display_size(
    shape: tuple[int, int], pixel: tuple[float, float], max_side: int, min_side: int = 0
) -> tuple[int, int]:
    """(height, width) in screen pixels of a ``shape`` plane with ``pixel`` (row, col) spacing.

    Square screen pixels (the finer spacing sets the scale), then shrunk so that neither side
    exceeds ``max_side``, or enlarged so that the longer side reaches ``min_side``.
    """
    rows, cols = pixel
    unit = min(rows, cols)
    height, width = shape[0] * rows / unit, shape[1] * cols / unit
    longest = max(height, width)
    scale = max_side / longest if longest > max_side else max(1.0, min_side / longest)
    return max(1, round(height * scale)), max(1, round(width * scale))
