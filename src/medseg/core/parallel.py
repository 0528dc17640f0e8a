"""One way to run a function over many items in worker processes: :func:`parallel_map`.

``workers`` means the same everywhere in medseg: the number of worker *processes*; ``0`` runs in
this process (no pool, easiest to debug). Results come back in input order, with at most
``window x workers`` items in flight, so memory stays constant however many items there are.

Pool workers die with the process that started them, even one killed with SIGKILL (a killed
parent never shuts its pool down, and the workers would otherwise wait on their queue for good):
each worker first calls :func:`medseg.core.orphans.die_with_parent`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from medseg.core.orphans import die_with_parent, started_from_main_thread

T = TypeVar("T")
R = TypeVar("R")


def pool_context() -> Any:
    """``fork`` where the platform has it (cheap start, inherits loaded data), else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _start_worker(
    parent: int, main_thread: bool, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    """Every pool worker's initializer: die with ``parent``, then run the caller's initializer."""
    die_with_parent(parent, death_signal=main_thread)
    if initializer is not None:
        initializer(*initargs)


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int = 0,
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    window: int = 2,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in order, computed by ``workers`` processes (0 = here).

    ``initializer(*initargs)`` runs once per worker (and once here when ``workers`` is 0), the place
    to hand every worker a large read-only object. An exception in ``fn`` is re-raised here after
    the pool has been shut down (queued items are cancelled).
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if workers == 0:
        if initializer is not None:
            initializer(*initargs)
        for item in items:
            yield fn(item)
        return
    with ProcessPoolExecutor(
        workers,
        mp_context=pool_context(),
        initializer=_start_worker,
        initargs=(os.getpid(), started_from_main_thread(), initializer, initargs),
    ) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= max(1, window) * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
