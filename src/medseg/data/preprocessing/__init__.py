"""Preprocessing: reorient, crop to nonzero, normalise, resample, and the memory-mapped cache.

The in-memory steps (``steps``) need no torch; the cache (``store``, a torch ``Dataset``) and the
dataset-wide ``preprocess`` do. Where torch is missing (the lite predictor, :mod:`medseg.lite`) only
the steps are exported. The names are bound eagerly, not lazily, because ``preprocess`` is also the
name of a submodule: a lazy name would be shadowed by the submodule once it is imported.
"""

from medseg.data.preprocessing.steps import PreprocessedArrays, invert_preprocessing, preprocess_case

try:
    from medseg.data.preprocessing.preprocess import preprocess
    from medseg.data.preprocessing.store import PreprocessedCase, PreprocessedDataset
except ModuleNotFoundError as exc:  # torch absent: re-raise anything else
    if (exc.name or "").split(".")[0] != "torch":
        raise

__all__ = [
    "PreprocessedArrays",
    "PreprocessedCase",
    "PreprocessedDataset",
    "invert_preprocessing",
    "preprocess",
    "preprocess_case",
]
