"""Per-channel normalisation and crop-to-nonzero rules (nnU-Net v2, own implementation)."""

from __future__ import annotations

from medseg.config.plan import NormalizationSpec
from medseg.data.inspection.fingerprint import Fingerprint

NONZERO_MASK_SIZE = 0.75
CROP_MIN_REMOVED = 0.05
CT_NAMES = frozenset({"ct", "computed tomography"})


def crop_to_nonzero(fingerprint: Fingerprint, reasons: list[str]) -> bool:
    """Crop to the nonzero box when it removes at least 5% of the median case (else not worth it)."""
    removed = 1.0 - fingerprint.summary.median_size_after_nonzero_crop
    decision = removed >= CROP_MIN_REMOVED
    reasons.append(
        f"crop_to_nonzero: {decision} (cropping removes {removed:.1%} of the median case; threshold 5%)"
    )
    return decision


def is_ct(channel_name: str) -> bool:
    """Whether a channel name denotes CT (intensities in Hounsfield units)."""
    return channel_name.strip().lower() in CT_NAMES


def normalization(fingerprint: Fingerprint, reasons: list[str]) -> list[NormalizationSpec]:
    """CT: clip to the dataset foreground 0.5/99.5 percentiles, then global z-score; else per-image z-score.

    The per-image z-score is taken inside the nonzero mask when cropping to nonzero leaves less than
    75% of the median case (skull-stripped MRI: the zero background would dominate the statistics).
    """
    size_after_crop = fingerprint.summary.median_size_after_nonzero_crop
    specs: list[NormalizationSpec] = []
    for index, name in enumerate(fingerprint.channel_names):
        stats = fingerprint.summary.foreground_intensity[index]
        if is_ct(name) and stats is not None:
            specs.append(
                NormalizationSpec(
                    scheme="ct",
                    clip_low=stats.p00_5,
                    clip_high=stats.p99_5,
                    mean=stats.mean,
                    std=max(stats.std, 1e-8),
                )
            )
            reasons.append(
                f"normalization[{index}] ({name}): CT -> clip to foreground [{stats.p00_5:g}, {stats.p99_5:g}], "
                f"z-score with foreground mean {stats.mean:g}, std {stats.std:g}"
            )
        elif size_after_crop < NONZERO_MASK_SIZE:
            specs.append(NormalizationSpec(scheme="zscore_nonzero"))
            reasons.append(
                f"normalization[{index}] ({name}): per-image z-score inside the nonzero mask "
                f"(cropping keeps {size_after_crop:.0%} < 75% of the median case)"
            )
        else:
            specs.append(NormalizationSpec(scheme="zscore"))
            reasons.append(f"normalization[{index}] ({name}): per-image z-score")
    return specs
