"""Datasets of cases, folds, inspection, planning, preprocessing, sampling and augmentation."""

from medseg.data.case import Case
from medseg.data.datasets import (
    BinarizedDataset,
    CaseDataset,
    ConcatCaseDataset,
    FolderPairDataset,
    MSDDataset,
    NNUNetDataset,
    RemappedDataset,
    TableDataset,
)
from medseg.data.folds import kfold_assignments, read_folds, write_folds
from medseg.data.sample import load_sample

__all__ = [
    "BinarizedDataset",
    "Case",
    "CaseDataset",
    "ConcatCaseDataset",
    "FolderPairDataset",
    "MSDDataset",
    "NNUNetDataset",
    "RemappedDataset",
    "TableDataset",
    "kfold_assignments",
    "load_sample",
    "read_folds",
    "write_folds",
]
