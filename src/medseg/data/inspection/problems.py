"""Pathological datasets, found from the fingerprint before anything is trained: :func:`dataset_problems`.

Errors (the dataset cannot train a model): a training case without a label (accepted by the
fingerprint and by preprocessing, it would only fail when training starts), and labels that are all
background (training would run to the end and learn Dice 0).

Warnings (the dataset trains, but one case is probably broken): a case whose voxel spacing, on any
axis, or whose shape (voxel count) differs from the dataset median by more than ``OUTLIER_FACTOR``
either way, and a case that after resampling to the target spacing would fill more than
``OUTLIER_FACTOR`` times the median case's share of the preprocessed cache (one case with a 1000 mm
slice spacing in its header becomes a 250 MB cache entry). Each warning names the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from medseg.core.errors import DatasetError
from medseg.data.inspection.fingerprint import Fingerprint

#: how far from the dataset median (either way) a case's spacing or size must be to be warned about
OUTLIER_FACTOR = 10.0
#: cases named in one error line
_LISTED = 5


@dataclass
class DatasetProblems:
    """What :func:`dataset_problems` found: one-line errors and one-line warnings (each names a case)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_errors(self) -> None:
        """Raise the first error as a :class:`DatasetError` (one line) when there is one."""
        if self.errors:
            more = f" (and {len(self.errors) - 1} more problem(s))" if len(self.errors) > 1 else ""
            raise DatasetError(self.errors[0] + more)


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:_LISTED])
    return shown + (f" ... ({len(ids)} in all)" if len(ids) > _LISTED else "")


def _ratio_text(value: float, median: float) -> str:
    ratio = value / median if median > 0 else float("inf")
    return f"{ratio:.0f}x" if ratio >= 1 else f"1/{1 / ratio:.0f}"


def _outside(value: float, median: float, factor: float) -> bool:
    return median > 0 and (value > factor * median or value * factor < median)


def _case_warnings(fingerprint: Fingerprint, factor: float) -> list[str]:
    cases = fingerprint.cases
    if len(cases) < 3:  # no meaningful median
        return []
    spacings = np.array([c.spacing for c in cases], dtype=np.float64)
    voxels = np.array([float(np.prod(c.shape)) for c in cases])
    target = np.asarray(fingerprint.summary.resampled_spacing, dtype=np.float64)
    resampled = np.prod(fingerprint.resampled_shapes(list(target)), axis=1)
    channels = max(1, len(fingerprint.channel_names))
    median_spacing = np.median(spacings, axis=0)
    median_voxels, median_resampled = float(np.median(voxels)), float(np.median(resampled))
    axes = (
        "zyx"[-spacings.shape[1] :] if spacings.shape[1] <= 3 else [str(i) for i in range(spacings.shape[1])]
    )
    out = []
    for i, case in enumerate(cases):
        reasons = []
        for axis, value, median in zip(axes, spacings[i], median_spacing):
            if _outside(value, median, factor):
                reasons.append(
                    f"spacing {value:g} mm on axis {axis} is {_ratio_text(value, median)} the median "
                    f"{median:g} mm"
                )
        if _outside(voxels[i], median_voxels, factor):
            reasons.append(
                f"shape {'x'.join(str(s) for s in case.shape)} has {_ratio_text(voxels[i], median_voxels)} "
                "the median voxel count"
            )
        if resampled[i] > factor * median_resampled:
            megabytes = resampled[i] * channels * 4 / 1e6
            reasons.append(
                f"resampled to {'x'.join(f'{s:g}' for s in target)} mm it fills about {megabytes:.0f} MB "
                f"of the cache ({_ratio_text(resampled[i], median_resampled)} the median case)"
            )
        if reasons:
            out.append(f"case {case.case_id}: {'; '.join(reasons)}; check its header or leave it out")
    return out


def dataset_problems(
    fingerprint: Fingerprint, name: str = "dataset", outlier_factor: float = OUTLIER_FACTOR
) -> DatasetProblems:
    """Errors and warnings about a training dataset's fingerprint (see the module docstring)."""
    problems = DatasetProblems()
    unlabelled = [c.case_id for c in fingerprint.cases if not c.class_voxels]
    if unlabelled:
        problems.errors.append(
            f"{name}: training case {_listed(unlabelled)} has no label; every training case "
            "needs one (remove the case or add its label)"
        )
    labelled = [c for c in fingerprint.cases if c.class_voxels]
    if labelled and not any(v > 0 and n > 0 for c in labelled for v, n in c.class_voxels.items()):
        problems.errors.append(
            f"{name}: every label is empty (no foreground voxel in any of the {len(labelled)} "
            "labelled cases); there is nothing to learn"
        )
    problems.warnings += _case_warnings(fingerprint, outlier_factor)
    return problems
