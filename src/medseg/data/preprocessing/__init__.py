"""Preprocessing: reorient, crop to nonzero, normalise, resample, and the memory-mapped cache."""

from medseg.data.preprocessing.preprocess import preprocess
from medseg.data.preprocessing.steps import PreprocessedArrays, invert_preprocessing, preprocess_case
from medseg.data.preprocessing.store import PreprocessedCase, PreprocessedDataset

__all__ = [
    "PreprocessedArrays",
    "PreprocessedCase",
    "PreprocessedDataset",
    "invert_preprocessing",
    "preprocess",
    "preprocess_case",
]
