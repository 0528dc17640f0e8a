"""Dataset inspection: ``inspect(dataset) -> Fingerprint`` (per-case statistics + dataset summary)."""

from medseg.data.inspection.case_stats import inspect_case, orientation_code
from medseg.data.inspection.fingerprint import (
    AxisSummary,
    Box,
    CaseFingerprint,
    ChannelStats,
    DatasetSummary,
    Fingerprint,
)
from medseg.data.inspection.inspect_dataset import inspect

__all__ = [
    "AxisSummary",
    "Box",
    "CaseFingerprint",
    "ChannelStats",
    "DatasetSummary",
    "Fingerprint",
    "inspect",
    "inspect_case",
    "orientation_code",
]
