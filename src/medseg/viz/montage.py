"""Slice montages: 25/50/75 % through the foreground extent, image with label (and prediction) overlay.

3D cases give one row per axis (all three planes by default, or the axes asked for) and per map
(label, prediction); 2D cases give one panel per map. The foreground is the label's, else the
prediction's, else the whole volume. Pixel aspect follows the voxel spacing.
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
from medseg.viz.overlay import overlay
from medseg.viz.slicing import (
    MONTAGE_FRACTIONS,
    foreground_extent,
    fraction_positions,
    plane,
    plane_aspect,
    plane_title,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: one panel: map name, picture plane, label plane, title, spacing, axis (None for 2D)
_Cell = tuple[str, np.ndarray, "np.ndarray | None", str, tuple[float, ...], "int | None"]


def montage_positions(
    label: np.ndarray | None,
    prediction: np.ndarray | None = None,
    axes: Sequence[int] = (0, 1, 2),
    fractions: Sequence[float] = MONTAGE_FRACTIONS,
) -> dict[int, list[int]]:
    """``{axis: [index, ...]}``: the slices at ``fractions`` of the foreground extent along each axis."""
    masks = [m for m in (label, prediction) if m is not None]
    if not masks:
        raise ValueError("montage_positions needs a label or a prediction")
    return {int(a): fraction_positions(foreground_extent(int(a), *masks), fractions) for a in axes}


def montage_figure(
    image: ArrayLike,
    label: ArrayLike | None = None,
    prediction: ArrayLike | None = None,
    *,
    spacing: Sequence[float] | None = None,
    class_names: Mapping[int, str] | None = None,
    axes: Sequence[int] | None = None,
    channel: int | None = None,
    fractions: Sequence[float] = MONTAGE_FRACTIONS,
    title: str = "",
) -> Figure:
    """The montage as a matplotlib Figure (not saved); see the module docstring."""
    from matplotlib.figure import Figure

    case = prepare_case(image, label, prediction, spacing, channel)
    maps: list[tuple[str, np.ndarray | None]] = [
        (n, m) for n, m in (("label", case.label), ("prediction", case.prediction)) if m is not None
    ] or [("image", None)]
    cells: list[list[_Cell]]
    if case.ndim == 2:
        cells = [[(name, case.picture_plane(None), m, "", case.spacing, None) for name, m in maps]]
    else:
        chosen = tuple(axes) if axes is not None else (0, 1, 2)
        if case.masks():
            positions = montage_positions(case.label, case.prediction, chosen, fractions)
        else:
            positions = {a: fraction_positions((0, case.shape[a] - 1), fractions) for a in chosen}
        cells = []
        for a in chosen:
            for name, m in maps:
                row: list[_Cell] = []
                for f, index in zip(fractions, positions[a]):
                    head = f"{plane_title(a, index)} ({round(100 * f)}%)"
                    row.append(
                        (
                            name,
                            case.picture_plane(a, index),
                            None if m is None else plane(m, a, index),
                            head,
                            case.spacing,
                            a,
                        )
                    )
                cells.append(row)
    n_rows, n_cols = len(cells), max(len(r) for r in cells)
    width = 2.8 if case.ndim == 3 else 5.0
    ratios = [max(c[1].shape[0] * plane_aspect(c[4], c[5]) / c[1].shape[1] for c in row) for row in cells]
    names = class_names_of(class_names, present_values(*case.masks()))
    entries = legend_entries(names, present_values(*case.masks()))
    legend_height = 0.25 * -(-len(entries) // 6) + 0.2
    fig = Figure(
        figsize=(width * n_cols + 0.4, sum(width * r + 0.35 for r in ratios) + legend_height + 0.4),
        layout="constrained",
    )
    grid = fig.subplots(n_rows, n_cols, squeeze=False, gridspec_kw={"height_ratios": ratios})
    for r, row in enumerate(cells):
        for c in range(n_cols):
            ax = grid[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(row):
                ax.set_axis_off()
                continue
            name, pic, mask, head, sp, axis = row[c]
            ax.imshow(overlay(pic, mask), aspect=plane_aspect(sp, axis), interpolation="nearest")
            ax.set_title(f"{name}: {head}" if head else name, fontsize=8)
    add_class_legend(fig, entries, loc="outside lower center")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_montage(
    image: ArrayLike,
    label: ArrayLike | None,
    path: str | os.PathLike[str],
    prediction: ArrayLike | None = None,
    *,
    spacing: Sequence[float] | None = None,
    class_names: Mapping[int, str] | None = None,
    axes: Sequence[int] | None = None,
    channel: int | None = None,
    title: str = "",
    dpi: int = 90,
) -> Path:
    """Write the montage of one case as a PNG; returns its path."""
    fig = montage_figure(
        image,
        label,
        prediction,
        spacing=spacing,
        class_names=class_names,
        axes=axes,
        channel=channel,
        title=title,
    )
    return save_figure(fig, path, dpi=dpi)
