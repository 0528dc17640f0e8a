"""Preprocess a whole dataset into a memory-mapped cache, in parallel, resumably.

Re-running :func:`preprocess` on the same folder skips every case whose completion marker exists,
so an interrupted run simply continues. A folder made with a plan whose preprocessing settings
differ is refused, so that one cache never mixes two preprocessings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medseg.config.plan import Plan
from medseg.core.errors import ConfigError
from medseg.core.parallel import parallel_map
from medseg.data.case import Case
from medseg.data.preprocessing.steps import preprocess_case
from medseg.data.preprocessing.store import PLAN_FILE, PreprocessedDataset, is_complete, write_case

# Plan fields that change what is written to the cache (patch size, network, ... do not).
PREPROCESSING_FIELDS = (
    "version",
    "spatial_dims",
    "channel_names",
    "labels",
    "unlisted_labels",
    "target_spacing",
    "orientation",
    "crop_to_nonzero",
    "normalization",
    "resampling",
)


def check_plan_matches(out_dir: Path, plan: Plan) -> None:
    """Raise :class:`ConfigError` when ``out_dir`` holds a cache made with other preprocessing settings."""
    path = out_dir / PLAN_FILE
    if not path.is_file():
        return
    stored = Plan.load(path).model_dump(include=set(PREPROCESSING_FIELDS))
    wanted = plan.model_dump(include=set(PREPROCESSING_FIELDS))
    for key in PREPROCESSING_FIELDS:
        if stored[key] != wanted[key]:
            raise ConfigError(
                f"{path}: cache made with {key}={stored[key]!r}, this plan has {wanted[key]!r}; "
                "use another output folder or delete this one"
            )


def _case_ids(dataset: Sequence[Case]) -> list[str] | None:
    ids = getattr(dataset, "case_ids", None)
    return list(ids) if ids is not None else None


def _process_index(dataset: Sequence[Case], index: int, plan: Plan, out_dir: Path) -> str:
    case = dataset[index]
    if is_complete(out_dir, case.case_id):
        return case.case_id
    result = preprocess_case(case, plan)
    write_case(out_dir, case.case_id, result.image, result.label, result.properties, result.locations)
    return case.case_id


_WORKER: dict[str, Any] = {}


def _init_worker(dataset: Sequence[Case], plan_json: str, out_dir: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.update(dataset=dataset, plan=Plan.model_validate_json(plan_json), out_dir=Path(out_dir))


def _worker_task(index: int) -> str:
    return _process_index(_WORKER["dataset"], index, _WORKER["plan"], _WORKER["out_dir"])


def _progress(enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("preprocessing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def preprocess(
    dataset: Sequence[Case],
    plan: Plan,
    out_dir: str | os.PathLike[str],
    workers: int = 2,
    progress: bool = True,
) -> PreprocessedDataset:
    """Preprocess every case of ``dataset`` into ``out_dir`` and return the cache.

    ``workers`` processes work on cases in parallel (``0``: in this process). Finished cases are
    skipped; the plan is stored as ``out_dir/plan.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_plan_matches(out, plan)
    plan.save(out / PLAN_FILE)
    ids = _case_ids(dataset)
    todo = [i for i in range(len(dataset)) if ids is None or not is_complete(out, ids[i])]
    done: list[str] = []
    with _progress(progress and bool(todo)) as bar:  # nothing to do: no empty 0/0 bar
        task = bar.add_task("cases", total=len(todo))
        init = (dataset, plan.model_dump_json(), str(out))
        for case_id in parallel_map(
            _worker_task, todo, workers if len(todo) > 1 else 0, initializer=_init_worker, initargs=init
        ):
            done.append(case_id)
            bar.advance(task)
    if ids is None:
        ids = sorted(set(done) | {p.name for p in (out / "cases").glob("*") if is_complete(out, p.name)})
    return PreprocessedDataset(out, ids)
