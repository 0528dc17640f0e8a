"""The visual reports of the worst validation case, written at the end of training, shown in the report.

:func:`save_worst_case_visuals` writes into ``previews/`` (beside the trainer's ``worst_case.png``):

* ``worst_case_montage.png``: slices at 25/50/75 % through the foreground along each axis, label and
  prediction overlays (2D: one label and one prediction overlay);
* ``worst_case_scroll.gif``: the axial slices with the label and prediction overlays (3D only);
* ``worst_case_3d.gif``: the label and prediction surfaces turning once (3D only);
* ``worst_case.json``: the manifest the report reads: case, its mean Dice, the epoch, the class
  legend ``{value: name}``, the files written, and what was skipped or failed and why.

The GIFs are kept small (few frames, small panels) so that the end of a run costs about a second for
a hippocampus-sized case. :func:`visuals_section` is the report's section built from the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medseg.core.atomic import write_text_atomic
from medseg.viz.colors import class_color, class_names_of, present_values
from medseg.viz.html import esc, not_available
from medseg.viz.output import readable
from medseg.viz.report_common import gallery

MANIFEST = "worst_case.json"
MONTAGE = "worst_case_montage.png"
SCROLL = "worst_case_scroll.gif"
ROTATION = "worst_case_3d.gif"
#: every file of this module (the report's preview gallery leaves them to the visuals section)
VISUAL_FILES = (MANIFEST, MONTAGE, SCROLL, ROTATION)
#: small GIFs: frames and sizes of the end-of-training visuals
SCROLL_FRAMES = 16
SCROLL_SIDE = 192
ROTATION_FRAMES = 16
ROTATION_VOXELS = 64
ROTATION_VIEW = 160
#: inline styles of the legend (the page's stylesheet is shared by every report)
_LIST = "list-style:none;padding:0;margin:4px 0"
_ITEM = "display:inline-block;margin:2px 16px 2px 0;font-size:13px"
_SWATCH = (
    "display:inline-block;width:14px;height:14px;border:1px solid #333;vertical-align:-2px;margin-right:5px;"
)
_CAPTIONS = {
    MONTAGE: "montage: slices at 25, 50 and 75 % through the foreground",
    SCROLL: "scroll through the axial slices (label | prediction)",
    ROTATION: "3-D rendering of the surfaces (label | prediction)",
}


def _spacing(spacing: Sequence[float] | None, ndim: int) -> tuple[float, ...] | None:
    """``spacing`` when it has one entry per spatial axis of the case, else None (unit spacing)."""
    if spacing is None or len(spacing) != ndim:
        return None
    return tuple(float(s) for s in spacing)


def save_worst_case_visuals(
    folder: str | Path,
    image: np.ndarray,
    label: np.ndarray,
    prediction: np.ndarray,
    *,
    class_names: Mapping[int, str] | None = None,
    spacing: Sequence[float] | None = None,
    case_id: str = "",
    mean_dice: float | None = None,
    epoch: int | None = None,
) -> dict[str, Any]:
    """Write the montage (and, for 3D cases, the scroll and 3-D GIFs) of one case into ``folder``.

    ``image``, ``label`` and ``prediction`` are spatial arrays of one shape (label maps painted with
    the class values of ``class_names``). Each visual that fails is recorded in the manifest with its
    error and the others are still written. Returns the manifest (also written as ``worst_case.json``).
    """
    from medseg.viz.montage import save_montage
    from medseg.viz.scroll import save_scroll_gif

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    image, label, prediction = np.asarray(image), np.asarray(label), np.asarray(prediction)
    ndim = label.ndim
    sp = _spacing(spacing, ndim)
    names = class_names_of(class_names, present_values(label, prediction))
    title = f"worst case {case_id}" + (f" (mean Dice {mean_dice:.3f})" if mean_dice is not None else "")
    jobs: list[tuple[str, Any]] = [
        (
            MONTAGE,
            lambda: save_montage(
                image, label, out / MONTAGE, prediction, spacing=sp, class_names=names, title=title
            ),
        )
    ]
    skipped: dict[str, str] = {}
    if ndim == 3:
        jobs.append(
            (
                SCROLL,
                lambda: save_scroll_gif(
                    image,
                    label,
                    out / SCROLL,
                    prediction,
                    spacing=sp,
                    class_names=names,
                    max_frames=SCROLL_FRAMES,
                    max_side=SCROLL_SIDE,
                ),
            )
        )
        jobs.append((ROTATION, lambda: _save_rotation(label, prediction, out / ROTATION, sp, names)))
    else:
        reason = f"a {ndim}D case has no slices to scroll through and no volume to turn"
        skipped = {SCROLL: reason, ROTATION: reason}
    files: list[str] = []
    failed: dict[str, str] = {}
    for name, job in jobs:
        (out / name).unlink(missing_ok=True)  # no stale visual of an earlier case
        try:
            job()
            files.append(name)
        except Exception as exc:  # one visual failing leaves the others
            failed[name] = f"{type(exc).__name__}: {exc}"
    for name in skipped:
        (out / name).unlink(missing_ok=True)
    manifest: dict[str, Any] = {
        "case_id": case_id,
        "mean_dice": None if mean_dice is None else float(mean_dice),
        "epoch": epoch,
        "spatial_dims": ndim,
        "shape": list(label.shape),
        "spacing": list(sp) if sp is not None else None,
        "classes": {str(v): n for v, n in names.items()},
        "files": files,
        "skipped": skipped,
        "failed": failed,
    }
    readable(write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=2)))
    return manifest


def _save_rotation(
    label: np.ndarray,
    prediction: np.ndarray,
    path: Path,
    spacing: tuple[float, ...] | None,
    names: Mapping[int, str],
) -> Path:
    """A small rotating 3-D GIF (fewer frames, voxels and pixels than :func:`save_rotation_gif`)."""
    from medseg.viz.output import save_gif
    from medseg.viz.render3d import rotation_frames

    frames = rotation_frames(
        label,
        prediction,
        spacing=spacing,
        class_names=names,
        n_frames=ROTATION_FRAMES,
        max_voxels=ROTATION_VOXELS,
        view_size=ROTATION_VIEW,
    )
    return save_gif(frames, path, fps=8.0)


def legend_html(classes: Mapping[str, str] | Mapping[int, str]) -> str:
    """The class colour legend as HTML: a swatch of each class's colour and ``value: name``."""
    items = []
    for value, name in sorted(((int(v), str(n)) for v, n in classes.items()), key=lambda item: item[0]):
        if value == 0:
            continue
        r, g, b = class_color(value)
        items.append(
            f'<li style="{_ITEM}"><span class="swatch" style="{_SWATCH}background:rgb({r},{g},{b})">'
            f"</span>{esc(value)}: {esc(name)}</li>"
        )
    if not items:
        return not_available("class legend", "no classes")
    return f'<ul class="legend" style="{_LIST}">{"".join(items)}</ul>'


def visuals_section(folder: Path) -> str:
    """The worst case's montage, scroll GIF and 3-D GIF with the class legend (from the manifest)."""
    previews = folder / "previews"
    path = previews / MANIFEST
    if not path.is_file():
        return not_available("visual reports", "written at the end of training (medseg train, run-all)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    facts = [f"case <b>{esc(manifest.get('case_id') or '?')}</b>"]
    if manifest.get("mean_dice") is not None:
        facts.append(f"mean Dice {float(manifest['mean_dice']):.4f}")
    if manifest.get("epoch") is not None:
        facts.append(f"validation of epoch {int(manifest['epoch'])}")
    head = f"<p>Worst validation case of the last validation: {', '.join(facts)}.</p>"
    legend = "<h3>Class colours</h3>" + legend_html(manifest.get("classes") or {})
    shown = [previews / name for name in manifest.get("files") or [] if (previews / name).is_file()]
    parts = [head, legend]
    for file in shown:
        parts.append(f"<h3>{esc(_CAPTIONS.get(file.name, file.name))}</h3>")
        parts.append(gallery([file], folder, file.name))
    if not shown:
        parts.append(not_available("visual reports", "no visual was written"))
    notes = [f"{esc(n)}: skipped ({esc(why)})" for n, why in (manifest.get("skipped") or {}).items()]
    notes += [f"{esc(n)}: failed ({esc(why)})" for n, why in (manifest.get("failed") or {}).items()]
    if notes:
        parts.append('<ul class="reasons">' + "".join(f"<li>{n}</li>" for n in notes) + "</ul>")
    return "".join(parts)
