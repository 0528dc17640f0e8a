"""Case previews: input, label, prediction, expected overlay and actual overlay.

2D cases give one row; 3D cases give three rows, the slices through the foreground's centre of mass
in the three planes (the label's foreground, or the prediction's when the label is empty). Figures
are built with ``matplotlib.figure.Figure`` (no pyplot state), so nothing leaks and no display is
needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

PLANES = ("axial", "coronal", "sagittal")


def foreground_centre(*masks: np.ndarray) -> tuple[int, ...]:
    """Integer centre of mass of the first mask with foreground, else the array centre."""
    for mask in masks:
        coords = np.argwhere(mask > 0)
        if len(coords):
            return tuple(round(float(c)) for c in coords.mean(0))
    return tuple(s // 2 for s in masks[0].shape)


def slices_through(volume: np.ndarray, centre: tuple[int, ...]) -> list[np.ndarray]:
    """The three orthogonal slices of a (z, y, x) volume through ``centre``."""
    z, y, x = centre
    return [volume[z], volume[:, y], volume[:, :, x]]


def _overlay(ax: object, image: np.ndarray, mask: np.ndarray, num_labels: int) -> None:
    ax.imshow(image, cmap="gray")  # type: ignore[attr-defined]
    masked = np.ma.masked_where(mask == 0, mask)
    ax.imshow(masked, cmap="tab10", vmin=0, vmax=max(9, num_labels), alpha=0.5, interpolation="nearest")  # type: ignore[attr-defined]


def save_case_preview(image: np.ndarray, label: np.ndarray, prediction: np.ndarray, path: str | Path,
                      title: str = "") -> Path:
    """Write a preview PNG of one case (spatial arrays, no channel axis; image may be (C, ...)->first channel)."""
    from matplotlib.figure import Figure

    image = np.asarray(image, dtype=np.float32)
    if image.ndim == label.ndim + 1:
        image = image[0]
    num_labels = int(max(label.max(initial=0), prediction.max(initial=0)))
    if image.ndim == 3:
        centre = foreground_centre(label, prediction)
        rows = list(zip(slices_through(image, centre), slices_through(label, centre),
                        slices_through(prediction, centre)))
        names = [f"{p} ({'zyx'[i]}={centre[i]})" for i, p in enumerate(PLANES)]
    else:
        rows, names = [(image, label, prediction)], [""]
    fig = Figure(figsize=(12, 2.6 * len(rows)))
    axes = fig.subplots(len(rows), 5, squeeze=False)
    headers = ["input", "label", "prediction", "expected overlay", "actual overlay"]
    for r, (img, lab, pred) in enumerate(rows):
        axes[r][0].imshow(img, cmap="gray")
        axes[r][1].imshow(lab, cmap="tab10", vmin=0, vmax=max(9, num_labels), interpolation="nearest")
        axes[r][2].imshow(pred, cmap="tab10", vmin=0, vmax=max(9, num_labels), interpolation="nearest")
        _overlay(axes[r][3], img, lab, num_labels)
        _overlay(axes[r][4], img, pred, num_labels)
        for c in range(5):
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(headers[c], fontsize=9)
        if names[r]:
            axes[r][0].set_ylabel(names[r], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}")
    fig.savefig(tmp, dpi=80, format="png")
    os.replace(tmp, out)
    return out
