"""Datasets of cases, folds, inspection, planning, preprocessing, sampling and augmentation."""

from medseg.data.case import Case

__all__ = ["Case"]
