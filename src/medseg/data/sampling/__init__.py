"""Patch sampling from a preprocessed cache: random ROIs with foreground oversampling."""

from medseg.data.sampling.patch import extract_patch
from medseg.data.sampling.random_roi import PatchDraw, RandomROIDataset

__all__ = ["PatchDraw", "RandomROIDataset", "extract_patch"]
