"""Evaluator: any metric functions over classes and regions (unions of labels), case by case.

A metric is a callable ``fn(pred_mask, ref_mask, spacing) -> float`` on boolean arrays with the
spacing in array-axis order, or the name of one in :mod:`medseg.metrics`. Regions map a name to a
label value or a list of values (their union), e.g. BraTS ``{"WT": [1, 2, 3], "TC": [1, 3],
"ET": [3]}``. Without regions, every foreground label present in a case's prediction or reference is
one region ``label_<v>`` for that case (a label absent from both has no row: nothing to score).
Cases are streamed one at a time (constant memory), in parallel with ``workers`` > 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medseg.core.errors import DatasetError
from medseg.core.parallel import parallel_map
from medseg.evaluation.grids import prediction_on_reference_grid
from medseg.evaluation.result import EvalResult

MetricFn = Callable[[np.ndarray, np.ndarray, tuple[float, ...]], float]
Pair = tuple[str, np.ndarray, np.ndarray, tuple[float, ...]]


def _resolve_metric(metric: str | MetricFn) -> tuple[str, MetricFn]:
    if isinstance(metric, str):
        from medseg.metrics import get_metric

        return metric, get_metric(metric)
    return getattr(metric, "__name__", type(metric).__name__), metric


def evaluate_pair(
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: Sequence[float],
    metrics: Mapping[str, MetricFn],
    regions: Mapping[str, Sequence[int]],
) -> list[tuple[str, str, float]]:
    """``(region, metric, value)`` for one prediction/reference label-map pair."""
    pred, ref = np.asarray(pred), np.asarray(ref)
    if pred.shape != ref.shape:
        raise DatasetError(f"prediction shape {pred.shape} != reference shape {ref.shape}")
    out = []
    for region, labels in regions.items():
        p, r = np.isin(pred, labels), np.isin(ref, labels)
        for name, fn in metrics.items():
            out.append((region, name, float(fn(p, r, tuple(float(s) for s in spacing)))))
    return out


def _evaluate_job(
    args: tuple[Pair, Mapping[str, MetricFn], Mapping[str, Sequence[int]] | None],
) -> list[dict[str, Any]]:
    (case_id, pred, ref, spacing), metrics, regions = args
    if regions is None:
        labels = sorted({int(v) for v in np.union1d(np.unique(pred), np.unique(ref)) if v != 0})
        regions = {f"label_{v}": [v] for v in labels}
    return [
        {"case_id": case_id, "region": r, "metric": m, "value": v}
        for r, m, v in evaluate_pair(pred, ref, spacing, metrics, regions)
    ]


class Evaluator:
    """Evaluate predictions against references with arbitrary metrics over classes/regions."""

    def __init__(
        self,
        *metrics: str | MetricFn,
        regions: Mapping[str, int | Sequence[int]] | None = None,
        workers: int = 0,
        progress: bool = True,
    ) -> None:
        if not metrics:
            metrics = ("dice",)
        self.metrics = dict(_resolve_metric(m) for m in metrics)
        self.regions = (
            {k: [v] if isinstance(v, int) else list(v) for k, v in regions.items()}
            if regions is not None
            else None
        )
        self.workers = workers
        self.progress = progress
        #: case ids of predictions that had no reference in the last folder evaluation
        self.unmatched: list[str] = []

    def evaluate_pairs(self, pairs: Iterable[Pair], total: int | None = None) -> EvalResult:
        """Evaluate ``(case_id, prediction, reference, spacing)`` tuples (label maps), streamed."""
        jobs = ((item, self.metrics, self.regions) for item in pairs)
        rows: list[dict[str, Any]] = []
        for case_rows in self._map(jobs, total):
            rows.extend(case_rows)
        return EvalResult.from_rows(rows)

    def _map(self, jobs: Iterable[Any], total: int | None) -> Iterator[list[dict[str, Any]]]:
        from rich.console import Console
        from rich.progress import Progress

        # no 0/0 bar for no cases, and none in a log (a transient bar there leaves a blank line)
        shown = self.progress and total != 0 and Console().is_terminal
        with Progress(disable=not shown, transient=True) as bar:
            task = bar.add_task("evaluating", total=total)
            for rows in parallel_map(_evaluate_job, jobs, self.workers):
                bar.advance(task)
                yield rows

    def evaluate_folders(
        self,
        predictions: str | os.PathLike[str],
        references: str | os.PathLike[str],
        *,
        resample: bool = False,
    ) -> EvalResult:
        """Match files by case id (the name without its extension, whatever the format) and evaluate.

        Every reference needs a prediction (else one-line error); predictions without a reference are
        listed in :attr:`unmatched` (and not scored). Grids must match, or ``resample`` is needed
        (:mod:`medseg.evaluation.grids`).
        """
        from medseg.io import read_image

        pred_dir, ref_dir = Path(predictions), Path(references)
        for d in (pred_dir, ref_dir):
            if not d.is_dir():
                raise DatasetError(f"{d}: folder does not exist")
        refs = _by_case_id(ref_dir)
        preds = _by_case_id(pred_dir)
        missing = sorted(set(refs) - set(preds))
        if missing:
            raise DatasetError(
                f"{pred_dir}: no prediction for {len(missing)} reference(s), e.g. '{missing[0]}'"
            )
        self.unmatched = sorted(set(preds) - set(refs))

        def pairs() -> Iterator[Pair]:
            for case_id, ref_path in refs.items():
                ref = read_image(ref_path, is_label=True)
                pred = read_image(preds[case_id], is_label=True)
                array = prediction_on_reference_grid(pred, ref, case_id, resample, str(preds[case_id]))
                yield case_id, array, ref.array[0], ref.geometry.array_spacing

        return self.evaluate_pairs(pairs(), total=len(refs))

    def evaluate_against_dataset(
        self, predictions: str | os.PathLike[str], dataset: Iterable[Any], *, resample: bool = False
    ) -> EvalResult:
        """Evaluate the prediction files of a folder against a dataset's labels (matched by case id)."""
        from medseg.io import read_image

        pred_dir = Path(predictions)
        if not pred_dir.is_dir():
            raise DatasetError(f"{pred_dir}: folder does not exist")
        preds = _by_case_id(pred_dir)
        cases = [case for case in dataset if case.label is not None]
        missing = sorted({c.case_id for c in cases} - set(preds))
        if missing:
            raise DatasetError(
                f"{pred_dir}: no prediction for {len(missing)} labelled case(s), e.g. '{missing[0]}'"
            )
        self.unmatched = sorted(set(preds) - {c.case_id for c in cases})

        def pairs() -> Iterator[Pair]:
            for case in cases:
                pred = read_image(preds[case.case_id], is_label=True)
                array = prediction_on_reference_grid(
                    pred, case.label, case.case_id, resample, str(preds[case.case_id])
                )
                yield case.case_id, array, case.label.array[0], case.label.geometry.array_spacing

        return self.evaluate_pairs(pairs(), total=len(cases))

    def evaluate_dataset(self, dataset: Iterable[Any], predictions: Mapping[str, np.ndarray]) -> EvalResult:
        """Evaluate a dataset of cases against predicted label maps keyed by case id."""

        def pairs() -> Iterator[Pair]:
            for case in dataset:
                if case.case_id not in predictions:
                    raise DatasetError(f"no prediction for case '{case.case_id}'")
                pred = np.asarray(predictions[case.case_id])
                pred = pred[0] if pred.ndim == case.label.array.ndim else pred
                yield case.case_id, pred, case.label.array[0], case.geometry.array_spacing

        return self.evaluate_pairs(pairs())

    def predict_and_evaluate(self, dataset: Iterable[Any], predictor: Any) -> EvalResult:
        """Predict every case of ``dataset`` with ``predictor.predict_case(case)`` and evaluate."""

        def pairs() -> Iterator[Pair]:
            for case in dataset:
                pred = predictor.predict_case(case).array[0]
                yield case.case_id, pred, case.label.array[0], case.geometry.array_spacing

        return self.evaluate_pairs(pairs())


def _by_case_id(folder: Path) -> dict[str, Path]:
    """Case id (file name without its image extension) -> file, for the image files of ``folder``."""
    from medseg.io.readers import READ_SUFFIXES, suffix_of

    out: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = suffix_of(path)
        if path.name.startswith(".") or suffix not in READ_SUFFIXES:
            continue
        case_id = path.name[: -len(suffix)]
        if case_id in out:
            raise DatasetError(
                f"{path}: case id '{case_id}' is also the name of {out[case_id].name} (ambiguous)"
            )
        out[case_id] = path
    return out
