"""Lazy datasets of cases: the base class, one module per on-disk format, and label wrappers."""

from medseg.data.datasets.base import CaseDataset, SubsetCaseDataset
from medseg.data.datasets.concat import ConcatCaseDataset
from medseg.data.datasets.files import CaseFiles, FileCaseDataset
from medseg.data.datasets.folder_pair import FolderPairDataset
from medseg.data.datasets.label_maps import BinarizedDataset, RemappedDataset
from medseg.data.datasets.msd import MSDDataset
from medseg.data.datasets.nnunet import NNUNetDataset
from medseg.data.datasets.table import TableDataset

__all__ = [
    "BinarizedDataset",
    "CaseDataset",
    "CaseFiles",
    "ConcatCaseDataset",
    "FileCaseDataset",
    "FolderPairDataset",
    "MSDDataset",
    "NNUNetDataset",
    "RemappedDataset",
    "SubsetCaseDataset",
    "TableDataset",
]
