"""Postprocessing on folders of predicted label maps: choose a strategy against references, or apply one.

Cases are matched by file name (``.nii.gz``, ``.nii``, ``.mha``, ``.nrrd``); applying runs one case per
worker process (``workers > 0``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medseg.core.errors import DatasetError
from medseg.core.parallel import parallel_map
from medseg.core.vocab import WRITE_SUFFIXES
from medseg.inference.postprocessing_selection import PostprocessingSelection, select_postprocessing
from medseg.inference.postprocessing_strategy import PostprocessingStrategy
from medseg.io import Image, read_image, write_image
from medseg.io.convert import suffix_of


def label_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Case id -> label-map file of ``folder`` (hidden files and other suffixes skipped)."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: folder does not exist")
    out = {}
    for path in sorted(root.iterdir()):
        suffix = suffix_of(path)
        if suffix in WRITE_SUFFIXES and not path.name.startswith("."):
            out[path.name[: -len(suffix)]] = path
    return out


def class_dice(pred: np.ndarray, ref: np.ndarray, classes: Sequence[int]) -> list[float]:
    """Dice of each class (NaN where the class is absent from both maps)."""
    from medseg.metrics.overlap import dice

    return [
        float(dice((pred == c)[None, None], (ref == c)[None, None], empty_value=float("nan")))
        for c in classes
    ]


def select_for_folders(
    predictions: str | os.PathLike[str],
    references: str | os.PathLike[str],
    classes: Sequence[int] | None = None,
) -> PostprocessingSelection:
    """nnU-Net's greedy choice of postprocessing steps on these predictions (classes: all found).

    Every prediction needs a reference of the same name; extra references are ignored.
    """
    preds, refs = label_files(predictions), label_files(references)
    if not preds:
        raise DatasetError(f"{predictions}: no label maps to postprocess")
    missing = sorted(set(preds) - set(refs))
    if missing:
        raise DatasetError(
            f"{references}: no reference for {len(missing)} prediction(s), e.g. '{missing[0]}'"
        )
    ids = sorted(preds)
    pred_images = [read_image(preds[i]) for i in ids]
    ref_arrays = [read_image(refs[i]).array[0] for i in ids]
    if classes is None:
        classes = sorted({int(v) for r in ref_arrays for v in np.unique(r) if v != 0})
    return select_postprocessing(
        [p.array[0] for p in pred_images],
        ref_arrays,
        class_dice,
        classes,
        spacings=[p.geometry.array_spacing for p in pred_images],
    )


def _apply_one(job: tuple[PostprocessingStrategy, Path, Path]) -> Path:
    strategy, source, target = job
    image = read_image(source)
    labels = strategy.apply(image.array[0], image.geometry.array_spacing)
    write_image(Image(labels[None].astype(image.array.dtype), image.geometry, image.meta), target)
    return target


def apply_to_folder(
    strategy: PostprocessingStrategy,
    predictions: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    workers: int = 0,
) -> list[Path]:
    """Apply ``strategy`` to every label map of ``predictions``, written under ``out_dir`` (same names)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(strategy, path, out / path.name) for path in label_files(predictions).values()]
    return list(parallel_map(_apply_one, jobs, workers))
