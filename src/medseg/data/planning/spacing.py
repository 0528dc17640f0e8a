"""Target spacing and anisotropy rules (nnU-Net v2 / MIST, own implementation)."""

from __future__ import annotations

import numpy as np

from medseg.data.inspection.fingerprint import Fingerprint

ANISOTROPY_RATIO = 3.0
COARSE_AXIS_PERCENTILE = 10.0


def target_spacing(fingerprint: Fingerprint, reasons: list[str]) -> list[float]:
    """Median spacing; an axis more than 3x coarser than the finest takes its 10th percentile instead.

    Thick-slice data resampled to the median slice thickness would throw away resolution on most
    cases; the 10th percentile keeps the thinner scans' detail, but never goes below the finer axes.
    """
    spacings = np.array([c.spacing for c in fingerprint.cases], dtype=np.float64)
    median = np.median(spacings, axis=0)
    target = median.copy()
    finest = float(median.min())
    for axis, value in enumerate(median):
        if value > ANISOTROPY_RATIO * finest:
            fine_axes = [float(v) for i, v in enumerate(median) if i != axis]
            p10 = float(np.percentile(spacings[:, axis], COARSE_AXIS_PERCENTILE))
            target[axis] = max(p10, max(fine_axes))
            reasons.append(
                f"target_spacing: axis {axis} is {value / finest:.1f}x coarser than the finest "
                f"(median {value:g} vs {finest:g}); using its 10th percentile {target[axis]:g}"
            )
    reasons.append(
        f"target_spacing: median spacing {[round(float(v), 4) for v in median]} -> {target.tolist()}"
    )
    return [float(v) for v in target]


def separate_z_axis(spacing: list[float], reasons: list[str]) -> int | None:
    """The coarse axis to resample on its own when max/min spacing exceeds 3, else ``None``."""
    ratio = max(spacing) / min(spacing)
    if ratio > ANISOTROPY_RATIO:
        axis = int(np.argmax(spacing))
        reasons.append(
            f"resampling: anisotropic (max/min spacing {ratio:.1f} > 3); axis {axis} resampled separately"
        )
        return axis
    return None
