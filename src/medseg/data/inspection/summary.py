"""Dataset-level summary of case fingerprints (distributions, class frequencies, intensities)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from medseg.data.inspection.case_stats import channel_stats
from medseg.data.inspection.fingerprint import AxisSummary, CaseFingerprint, ChannelStats, DatasetSummary


def summarise(
    cases: Sequence[CaseFingerprint], samples: Mapping[str, np.ndarray], num_channels: int
) -> DatasetSummary:
    """Summarise the cases; dataset intensity statistics pool the per-case foreground samples (as nnU-Net)."""
    spacings = np.array([c.spacing for c in cases], dtype=np.float64)
    shapes = np.array([c.shape for c in cases], dtype=np.float64)
    median_spacing = np.median(spacings, axis=0)
    resampled = np.round(shapes * spacings / median_spacing)
    total_voxels = float(shapes.prod(axis=1).sum())
    class_totals: Counter[int] = Counter()
    class_cases: Counter[int] = Counter()
    for case in cases:
        class_totals.update(case.class_voxels)
        class_cases.update(case.class_voxels.keys())
    pooled = [samples[f"{c.case_id}/intensities"] for c in cases if c.intensity_region == "foreground"]
    intensity: list[ChannelStats | None] = [None] * num_channels
    if pooled:
        stacked = np.concatenate(pooled, axis=1)
        if stacked.shape[1] > 0:
            intensity = [channel_stats(stacked[ch]) for ch in range(num_channels)]
    roi = [
        np.asarray(c.foreground_box.extent, dtype=np.float64) * np.asarray(c.spacing)
        for c in cases
        if c.foreground_box is not None
    ]
    return DatasetSummary(
        spacing=AxisSummary.of(spacings),
        shape=AxisSummary.of(shapes),
        resampled_spacing=median_spacing.tolist(),
        resampled_shape=AxisSummary.of(resampled),
        class_frequencies={k: class_totals[k] / total_voxels for k in sorted(class_totals)},
        class_case_fractions={k: class_cases[k] / len(cases) for k in sorted(class_cases)},
        foreground_intensity=intensity,
        foreground_roi_mm=np.median(np.stack(roi), axis=0).tolist() if roi else None,
        median_size_after_nonzero_crop=float(np.median([1.0 - c.nonzero_removed_fraction for c in cases])),
        orientations=dict(Counter(c.orientation or "none" for c in cases)),
    )
