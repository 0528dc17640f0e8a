"""Datasets of cases, folds, inspection, planning, preprocessing, sampling and augmentation."""

from medseg.core.lazy import lazy_exports
from medseg.data.case import Case

__all__ = [
    "BinarizedDataset",
    "Budget",
    "Case",
    "CaseDataset",
    "ConcatCaseDataset",
    "Fingerprint",
    "FolderPairDataset",
    "MSDDataset",
    "NNUNetDataset",
    "PatchLoader",
    "Plan",
    "PreprocessedDataset",
    "RandomROIDataset",
    "RemappedDataset",
    "TableDataset",
    "build_augmentation",
    "inspect",
    "invert_preprocessing",
    "kfold_assignments",
    "load_sample",
    "make_loader",
    "plan",
    "preprocess",
    "preprocess_case",
    "read_folds",
    "write_folds",
]

# everything but Case is imported on first use (see medseg.core.lazy): the datasets subclass
# torch's Dataset, and the torch-free lite predictor imports medseg.data.preprocessing.steps
_LAZY: dict[str, str] = {
    "BinarizedDataset": "medseg.data.datasets",
    "CaseDataset": "medseg.data.datasets",
    "ConcatCaseDataset": "medseg.data.datasets",
    "FolderPairDataset": "medseg.data.datasets",
    "MSDDataset": "medseg.data.datasets",
    "NNUNetDataset": "medseg.data.datasets",
    "RemappedDataset": "medseg.data.datasets",
    "TableDataset": "medseg.data.datasets",
    "kfold_assignments": "medseg.data.folds",
    "read_folds": "medseg.data.folds",
    "write_folds": "medseg.data.folds",
    "load_sample": "medseg.data.sample",
    "Budget": "medseg.data.planning.budget",
    "Fingerprint": "medseg.data.inspection.fingerprint",
    "PatchLoader": "medseg.data.loader",
    "Plan": "medseg.config.plan",
    "PreprocessedDataset": "medseg.data.preprocessing.store",
    "RandomROIDataset": "medseg.data.sampling.random_roi",
    "build_augmentation": "medseg.data.augmentation.factory",
    "inspect": "medseg.data.inspection.inspect_dataset",
    "invert_preprocessing": "medseg.data.preprocessing.steps",
    "make_loader": "medseg.data.loader",
    "plan": "medseg.data.planning.planner",
    "preprocess": "medseg.data.preprocessing.preprocess",
    "preprocess_case": "medseg.data.preprocessing.steps",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
