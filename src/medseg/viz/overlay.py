"""Label maps drawn over a picture: each class in its colour (:mod:`medseg.viz.colors`), 0 transparent."""

from __future__ import annotations

import numpy as np

from medseg.viz.colors import color_table

#: opacity of the class colours over the image
DEFAULT_ALPHA = 0.45


def as_rgb(picture: np.ndarray) -> np.ndarray:
    """A ``[0, 1]`` grey ``(h, w)`` or RGB ``(h, w, 3)`` picture as float32 RGB ``(h, w, 3)``."""
    picture = np.asarray(picture, dtype=np.float32)
    return picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=-1)


def label_rgba(label: np.ndarray) -> np.ndarray:
    """``(h, w, 4)`` float RGBA of a 2D label map: class colours, alpha 0 where the label is 0."""
    label = np.asarray(label)
    table = color_table(int(label.max(initial=0))).astype(np.float32) / 255.0
    rgba = np.zeros((*label.shape, 4), dtype=np.float32)
    fg = label > 0
    rgba[fg, :3] = table[label[fg]]
    rgba[fg, 3] = 1.0
    return rgba


def overlay(picture: np.ndarray, label: np.ndarray | None, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """RGB ``(h, w, 3)`` in ``[0, 1]``: ``picture`` with the classes of ``label`` blended in."""
    rgb = as_rgb(picture).copy()
    if label is None:
        return rgb
    rgba = label_rgba(label)
    weight = rgba[..., 3:] * np.float32(alpha)
    return rgb * (1 - weight) + rgba[..., :3] * weight


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """``[0, 1]`` floats as uint8."""
    return np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)
