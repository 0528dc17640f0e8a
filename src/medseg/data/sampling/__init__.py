"""Patch sampling from a preprocessed cache: random ROIs with foreground oversampling."""

from medseg.data.sampling.patch import extract_patch
from medseg.data.sampling.random_roi import RandomROIDataset
from medseg.data.sampling.stages import PatchDraw, SamplingStage

__all__ = ["PatchDraw", "RandomROIDataset", "SamplingStage", "extract_patch"]
