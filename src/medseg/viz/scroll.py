"""Scroll GIFs: every slice of a case along one axis, label (and prediction) blended in, as a GIF.

Frames are capped (``max_frames``, spread evenly over the volume) and so is their size (the longer
side of a panel is at most ``max_side`` screen pixels; small images are enlarged to ``min_side``).
Anisotropic spacing is respected: pixels on screen are square in millimetres. A 2D case gives one
frame.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from medseg.viz.colors import class_names_of, present_values
from medseg.viz.frames import compose_frame, evenly_spaced
from medseg.viz.inputs import ArrayLike, prepare_case
from medseg.viz.legend import legend_entries
from medseg.viz.output import display_size, resize_rgb, save_gif
from medseg.viz.overlay import overlay, to_uint8
from medseg.viz.slicing import AXIS_LETTERS, PLANE_NAMES, plane, plane_spacing

#: default caps of a scroll GIF
MAX_FRAMES = 64
MAX_SIDE = 320
MIN_SIDE = 192


def scroll_frames(
    image: ArrayLike,
    label: ArrayLike | None = None,
    prediction: ArrayLike | None = None,
    *,
    axis: int = 0,
    spacing: Sequence[float] | None = None,
    class_names: Mapping[int, str] | None = None,
    channel: int | None = None,
    max_frames: int = MAX_FRAMES,
    max_side: int = MAX_SIDE,
    min_side: int = MIN_SIDE,
) -> list[np.ndarray]:
    """The frames of :func:`save_scroll_gif` as ``(h, w, 3)`` uint8 arrays."""
    case = prepare_case(image, label, prediction, spacing, channel)
    maps: list[tuple[str, np.ndarray | None]] = [
        (n, m) for n, m in (("label", case.label), ("prediction", case.prediction)) if m is not None
    ]
    maps = maps or [("image", None)]
    present = present_values(*case.masks())
    legend = legend_entries(class_names_of(class_names, present), present)
    if case.ndim == 2:
        slices: list[tuple[str, np.ndarray, list[np.ndarray | None]]] = [
            ("", case.picture_plane(None), [m for _, m in maps])
        ]
        pixel = plane_spacing(case.spacing, None)
    else:
        depth = case.shape[axis]
        slices = [
            (
                f"{PLANE_NAMES[axis]} {AXIS_LETTERS[axis]}={i}/{depth - 1}",
                case.picture_plane(axis, i),
                [None if m is None else plane(m, axis, i) for _, m in maps],
            )
            for i in evenly_spaced(depth, max_frames)
        ]
        pixel = plane_spacing(case.spacing, axis)
    frames = []
    for caption, picture, masks in slices:
        size = display_size(picture.shape[:2], pixel, max_side, min_side)
        enlarge = size[0] > picture.shape[0]
        panels = [resize_rgb(to_uint8(overlay(picture, m)), *size, nearest=enlarge) for m in masks]
        frames.append(compose_frame(panels, [n for n, _ in maps], caption, legend))
    return frames


def save_scroll_gif(
    image: ArrayLike,
    label: ArrayLike | None,
    path: str | os.PathLike[str],
    prediction: ArrayLike | None = None,
    *,
    axis: int = 0,
    spacing: Sequence[float] | None = None,
    class_names: Mapping[int, str] | None = None,
    channel: int | None = None,
    max_frames: int = MAX_FRAMES,
    max_side: int = MAX_SIDE,
    fps: float = 8.0,
) -> Path:
    """Write a GIF scrolling through ``image`` along ``axis`` with the label (and prediction) overlaid."""
    frames = scroll_frames(
        image,
        label,
        prediction,
        axis=axis,
        spacing=spacing,
        class_names=class_names,
        channel=channel,
        max_frames=max_frames,
        max_side=max_side,
    )
    return save_gif(frames, path, fps=fps)
