"""Case previews: input, label, prediction, expected overlay and actual overlay, with a class legend.

2D cases give one row; 3D cases give three rows, the planes through the foreground's centre of mass
(the label's foreground, or the prediction's when the label is empty). Background (0) is never
coloured and every class keeps its colour of :mod:`medseg.viz.colors`. Figures are built with
``matplotlib.figure.Figure`` (no pyplot state), so nothing leaks and no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medseg.viz.colors import class_names_of, present_values
from medseg.viz.inputs import ArrayLike, prepare_case
from medseg.viz.legend import add_class_legend, legend_entries
from medseg.viz.output import save_figure
from medseg.viz.overlay import label_rgba, overlay
from medseg.viz.slicing import plane, plane_aspect, plane_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HEADERS = ("input", "label", "prediction", "expected overlay", "actual overlay")


def foreground_centre(*masks: np.ndarray) -> tuple[int, ...]:
    """Integer centre of mass of the first mask with foreground, else the array centre."""
    for mask in masks:
        coords = np.argwhere(mask > 0)
        if len(coords):
            return tuple(round(float(c)) for c in coords.mean(0))
    return tuple(s // 2 for s in masks[0].shape)


def preview_figure(
    image: ArrayLike,
    label: ArrayLike,
    prediction: ArrayLike,
    *,
    title: str = "",
    class_names: Mapping[int, str] | None = None,
    spacing: Sequence[float] | None = None,
    channel: int | None = None,
) -> Figure:
    """The preview of one case as a Figure (not saved); see the module docstring."""
    from matplotlib.figure import Figure

    case = prepare_case(image, label, prediction, spacing, channel)
    assert case.label is not None and case.prediction is not None
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, int | None]]
    if case.ndim == 3:
        centre = foreground_centre(case.label, case.prediction)
        rows = [
            (
                case.picture_plane(a, centre[a]),
                plane(case.label, a, centre[a]),
                plane(case.prediction, a, centre[a]),
                plane_title(a, centre[a]),
                a,
            )
            for a in range(3)
        ]
    else:
        rows = [(case.picture_plane(None), case.label, case.prediction, "", None)]
    present = present_values(case.label, case.prediction)
    entries = legend_entries(class_names_of(class_names, present), present)
    fig = Figure(figsize=(12, 2.6 * len(rows) + 0.3 * -(-len(entries) // 6) + 0.5), layout="constrained")
    axes = fig.subplots(len(rows), len(HEADERS), squeeze=False)
    for r, (pic, lab, pred, name, axis) in enumerate(rows):
        aspect = plane_aspect(case.spacing, axis)
        panels = [
            overlay(pic, None),
            label_rgba(lab),
            label_rgba(pred),
            overlay(pic, lab),
            overlay(pic, pred),
        ]
        for c, panel in enumerate(panels):
            ax = axes[r][c]
            ax.set_facecolor("black")
            ax.imshow(panel, aspect=aspect, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(HEADERS[c], fontsize=9)
        if name:
            axes[r][0].set_ylabel(name, fontsize=8)
    add_class_legend(fig, entries, loc="outside lower center")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_case_preview(
    image: ArrayLike,
    label: ArrayLike,
    prediction: ArrayLike,
    path: str | os.PathLike[str],
    title: str = "",
    *,
    class_names: Mapping[int, str] | None = None,
    spacing: Sequence[float] | None = None,
    dpi: int = 80,
) -> Path:
    """Write a preview PNG of one case (spatial label maps; the image may be ``(C, ...)``)."""
    return save_figure(
        preview_figure(image, label, prediction, title=title, class_names=class_names, spacing=spacing),
        path,
        dpi=dpi,
    )
