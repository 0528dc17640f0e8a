"""The Plan (re-exported): the model lives in :mod:`medseg.config.plan` so the config document and the
Plan are one schema (see docs/config-reference.md)."""

from medseg.config.plan import (
    LabelResampling,
    NetworkSpec,
    NormalizationScheme,
    NormalizationSpec,
    Plan,
    ResamplingSpec,
    TrainingSpec,
)

__all__ = ["LabelResampling", "NetworkSpec", "NormalizationScheme", "NormalizationSpec", "Plan", "ResamplingSpec",
           "TrainingSpec"]
