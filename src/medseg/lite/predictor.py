"""The lite predictor: exported ONNX model(s) in, label maps in the source image space out.

The torch :class:`medseg.inference.predictor.Predictor`'s whole path with NumPy, SimpleITK and ONNX
Runtime only: the Plan embedded in the model drives the same preprocessing
(:func:`medseg.data.preprocessing.steps.preprocess_case`), a Gaussian sliding window
(:mod:`medseg.lite.sliding_window`), mirror test-time augmentation, the average over several models
(folds), the inversion to the original grid (:func:`~medseg.data.preprocessing.steps.invert_preprocessing`)
and the Plan's label rules (:func:`medseg.config.labels.decode_labels` / ``paint_regions``); outputs
take the input's file format (:func:`medseg.io.naming.output_path`). Nothing here imports torch
(an import-linter contract and a test without torch keep it so).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medseg.config.labels import decode_labels, paint_regions
from medseg.config.plan import Plan
from medseg.core.errors import MedsegError
from medseg.core.mirror import mirror_axes_for, mirror_subsets
from medseg.data.case import Case
from medseg.io import Image, write_image
from medseg.lite.metadata import ModelFileError
from medseg.lite.session import OnnxModel
from medseg.lite.sliding_window import sliding_window


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float32)


def activate(logits: np.ndarray, plan: Plan) -> np.ndarray:
    """Probabilities from ``(B, K, *spatial)`` logits by the Plan's head (the torch Predictor's rule)."""
    if plan.regions is not None:
        return _sigmoid(logits)
    if plan.network.activation == "sigmoid":
        p = _sigmoid(logits)
        return np.concatenate([1 - p, p], axis=1)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float32)


def _same_plan(first: OnnxModel, other: OnnxModel) -> None:
    ours = first.plan.model_dump(exclude={"reasons", "training"})
    theirs = other.plan.model_dump(exclude={"reasons", "training"})
    for key in ours:
        if ours[key] != theirs[key]:
            raise ModelFileError(
                f"{other.path}: its Plan differs from {first.path}'s in '{key}'; an ensemble "
                "needs models of one Plan (the folds of one work folder)"
            )


class LitePredictor:
    """Predict label maps with one or more exported ``.onnx`` models of the same Plan.

    Args:
        models: ``.onnx`` files written by ``medseg export`` (several = an ensemble, e.g. the folds).
        mirror_axes: spatial axes for mirror TTA (``None`` = all, ``()`` = no TTA).
        overlap, window_batch_size, blend: sliding-window settings (those of the torch Predictor).
        threads: ONNX Runtime intra-op threads (``None``: every core).
        providers: ONNX Runtime execution providers (default: the CPU).
    """

    def __init__(
        self,
        models: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        mirror_axes: Sequence[int] | None = None,
        overlap: float = 0.5,
        window_batch_size: int = 4,
        blend: str = "gaussian",
        threads: int | None = None,
        providers: Sequence[str] | None = None,
    ) -> None:
        paths = [models] if isinstance(models, str | os.PathLike) else list(models)
        if not paths:
            raise MedsegError("LitePredictor needs at least one exported .onnx model")
        self.models = [OnnxModel(p, threads=threads, providers=providers) for p in paths]
        for other in self.models[1:]:
            _same_plan(self.models[0], other)
        self.plan: Plan = self.models[0].plan
        self.mirror_axes = mirror_axes
        self.overlap = overlap
        self.window_batch_size = window_batch_size
        self.blend = blend

    @property
    def patch_size(self) -> list[int]:
        """The sliding-window size (the training patch)."""
        return list(self.plan.patch_size)

    def predict_probabilities(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities ``(K, *spatial)`` of a preprocessed ``(C, *spatial)`` image."""
        x = np.asarray(image, dtype=np.float32)[None]
        dims = x.ndim - 2
        axes = mirror_axes_for(self.mirror_axes, dims)
        for axis in axes:
            if not 0 <= int(axis) < dims:
                raise ValueError(f"mirror axis {axis} is not a spatial axis (0..{dims - 1})")
        subsets = mirror_subsets(axes) if axes else [()]
        total: np.ndarray | None = None
        for model in self.models:
            for subset in subsets:
                flip = tuple(int(a) + 2 for a in subset)
                flipped = np.flip(x, flip) if flip else x
                logits = sliding_window(
                    flipped,
                    model,
                    self.patch_size,
                    overlap=self.overlap,
                    blend=self.blend,
                    window_batch_size=self.window_batch_size,
                )
                probs = activate(logits, self.plan)
                probs = np.flip(probs, flip) if flip else probs
                total = probs.copy() if total is None else total + probs
        assert total is not None
        return np.ascontiguousarray(total[0] / (len(subsets) * len(self.models)), dtype=np.float32)

    def predict_case(self, case: Case, return_probabilities: bool = False) -> Image:
        """The label map (or probabilities) of one case on its original grid, with its geometry."""
        from medseg.data.preprocessing.steps import invert_preprocessing, preprocess_case

        pre = preprocess_case(Case(case.case_id, case.image), self.plan)
        probs = self.predict_probabilities(pre.image)
        regions = self.plan.regions is not None
        original = invert_preprocessing(probs, pre.properties, order=1, probabilities=not regions)
        meta = {"case_id": case.case_id, **{k: v for k, v in case.image.meta.items() if k == "source"}}
        if return_probabilities:
            return Image(original, case.image.geometry, meta)
        labels = (
            paint_regions(original, self.plan) if regions else decode_labels(original.argmax(0), self.plan)
        )
        return Image(labels[None], case.image.geometry, meta)

    def predict(
        self, predictant: Any, output_dir: str | os.PathLike[str] | None = None, suffix: str | None = None
    ) -> Iterator[tuple[str, Image]]:
        """Predict every case of ``predictant`` (:func:`medseg.data.predictant.parse_predictant`).

        Written files (when ``output_dir`` is given) take the input's format unless ``suffix`` says
        otherwise, named by case id (:func:`medseg.io.naming.output_path`).
        """
        from medseg.data.predictant import parse_predictant
        from medseg.io.naming import output_path

        for case in parse_predictant(predictant, spacing=self.plan.target_spacing):
            result = self.predict_case(case)
            if output_dir is not None:
                write_image(result, output_path(output_dir, case.case_id, result.meta.get("source"), suffix))
            yield case.case_id, result


def predict_folder(
    models: Sequence[str | os.PathLike[str]],
    predictant: Any,
    out_dir: str | os.PathLike[str],
    *,
    suffix: str | None = None,
    progress: bool = True,
    **settings: Any,
) -> list[Path]:
    """Predict ``predictant`` into ``out_dir`` with :class:`LitePredictor` (``settings``); the files written."""
    from medseg.io.naming import output_path

    predictor = LitePredictor(models, **settings)
    written: list[Path] = []
    for case_id, image in predictor.predict(predictant, out_dir, suffix):
        written.append(output_path(out_dir, case_id, image.meta.get("source"), suffix))
        if progress:
            print(f"  {case_id} -> {written[-1]}", flush=True)
    return written
