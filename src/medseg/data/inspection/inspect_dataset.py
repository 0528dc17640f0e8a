"""``inspect(dataset)``: fingerprint every case (in parallel), summarise, and cache the result."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from medseg.core.errors import DatasetError
from medseg.core.parallel import parallel_map
from medseg.data.case import Case
from medseg.data.inspection import case_stats
from medseg.data.inspection.cache import dataset_key
from medseg.data.inspection.fingerprint import FINGERPRINT_VERSION, CaseFingerprint, Fingerprint
from medseg.data.inspection.summary import summarise

CaseResult = tuple[CaseFingerprint, dict[str, np.ndarray]]

_worker_dataset: Any = None


def _init_worker(dataset: Any) -> None:
    global _worker_dataset
    _worker_dataset = dataset


def _inspect_index(job: tuple[int, int, int]) -> CaseResult:
    index, max_locations, max_intensities = job
    case: Case = _worker_dataset[index]
    return case_stats.inspect_case(case, max_locations, max_intensities)


def _run_cases(dataset: Any, workers: int, max_locations: int, max_intensities: int) -> Iterator[CaseResult]:
    """Yield each case's result in index order, in-process (``workers=0``) or in a process pool."""
    jobs = ((index, max_locations, max_intensities) for index in range(len(dataset)))
    yield from parallel_map(_inspect_index, jobs, workers, initializer=_init_worker, initargs=(dataset,))


def _names(dataset: Any, channels: int, classes: set[int]) -> tuple[list[str], dict[int, str]]:
    """Channel names, and a name for every label value: the dataset's, else discovered in the data.

    Values found in the labels but not declared get ``label<value>`` (``foreground`` when the data
    are binary, e.g. 0/255 masks); declared values absent from the data are kept (a class may be
    missing from a small dataset), which the planner reports.
    """
    channel_names = getattr(dataset, "channel_names", None) or [f"channel{i}" for i in range(channels)]
    declared = {int(k): str(v) for k, v in (getattr(dataset, "labels", None) or {}).items()}
    values = sorted(set(classes) | set(declared) | {0})
    binary = len(values) == 2 and not ((set(values) - {0}) & set(declared))
    labels = {}
    for v in values:
        default = "background" if v == 0 else ("foreground" if binary else f"label{v}")
        labels[v] = declared.get(v, default)
    return [str(c) for c in channel_names], labels


def _with_progress(results: Iterator[CaseResult], total: int, progress: bool) -> Iterator[CaseResult]:
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    yield from track(  # a transient bar on a non-terminal stderr would leave an empty line there
        results,
        total=total,
        description=f"inspecting {total} cases",
        disable=not progress or not console.is_terminal,
        transient=True,
        console=console,
    )


def inspect(
    dataset: Any,
    workers: int = 2,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    max_locations: int = case_stats.DEFAULT_MAX_LOCATIONS,
    max_intensities: int = case_stats.DEFAULT_MAX_INTENSITIES,
    on_case: Callable[[CaseFingerprint], None] | None = None,
) -> Fingerprint:
    """Fingerprint a dataset of :class:`~medseg.data.case.Case` (``len`` + ``dataset[i]``).

    Cases run in ``workers`` processes (``0`` = in this process). With ``cache_dir`` the result is
    stored there under a key hashing the cases' file contents and these settings, and a later call
    on unchanged data reads it back instead of recomputing (an unreadable cache file is recomputed
    and replaced). ``on_case`` is called with each case's fingerprint as it completes.
    """
    n = len(dataset)
    if n == 0:
        raise DatasetError(f"{getattr(dataset, 'name', 'dataset')}: cannot inspect an empty dataset")
    settings = {
        "version": FINGERPRINT_VERSION,
        "max_locations": max_locations,
        "max_intensities": max_intensities,
        "case_ids": getattr(dataset, "case_ids", None),
        "channel_names": getattr(dataset, "channel_names", None),
        "labels": getattr(dataset, "labels", None),
        "regions": [r.model_dump() for r in getattr(dataset, "regions", None) or []],
    }
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"fingerprint_{dataset_key(dataset, settings)}.json"
        if cache_file.is_file():
            try:
                return Fingerprint.load(cache_file)
            except DatasetError:
                pass  # a damaged cache (a full disk, a killed copy) is derived data: computed again below
    cases: list[CaseFingerprint] = []
    samples: dict[str, np.ndarray] = {}
    for fingerprint, case_samples in _with_progress(
        _run_cases(dataset, workers, max_locations, max_intensities), n, progress
    ):
        cases.append(fingerprint)
        samples.update(case_samples)
        if on_case is not None:
            on_case(fingerprint)
    _check_consistent(cases, getattr(dataset, "name", "dataset"))
    channels = len(cases[0].channels)
    classes = {k for c in cases for k in c.class_voxels}
    channel_names, labels = _names(dataset, channels, classes)
    result = Fingerprint(
        spatial_dims=len(cases[0].shape),
        channel_names=channel_names,
        labels=labels,
        regions=getattr(dataset, "regions", None),
        cases=cases,
        summary=summarise(cases, samples, channels),
    )
    result._samples = samples
    if cache_file is not None:
        result.save(cache_file)
    return result


def _check_consistent(cases: list[CaseFingerprint], name: str) -> None:
    first = cases[0]
    for case in cases[1:]:
        if len(case.shape) != len(first.shape) or len(case.channels) != len(first.channels):
            raise DatasetError(
                f"{name}: case {case.case_id} has {len(case.channels)} channel(s) of {len(case.shape)}D, "
                f"but case {first.case_id} has {len(first.channels)} of {len(first.shape)}D"
            )
