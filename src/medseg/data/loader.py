"""The training loader: batches of random patches from a :class:`RandomROIDataset`, augmented.

Why not ``torch.utils.data.DataLoader``: its workers put every batch into a fresh block of shared
memory that the main process then maps through a socket handshake with the worker. For small
patches that costs more than cutting and augmenting them (bench/data: a 2-worker DataLoader moved
~2000 hippocampus patches/s while one process alone cut ~5000/s). :class:`PatchLoader` keeps a few
fixed shared-memory *slots*, made once and reused: a worker writes its batch into a free slot and
sends only the slot number; the main process copies the batch out (or into pinned memory for a GPU)
and hands the slot back. Workers are persistent (started on first use, kept across epochs).

Batches are ``{"image": (B, C, *p) float32, "label": (B, 1, *p) int16}`` (the cache's integer
dtype), augmented inside the worker. Determinism: sample ``i`` of epoch ``e`` is a pure function of
``(seed, e, i)`` (the dataset's rule) and batch ``b``'s augmentation runs on the torch/NumPy/``random``
generators seeded from ``(seed, e, b)``, so a seed gives the same batches whatever the number of
workers, including none. Memory stays constant in the number of cases (memory-mapped reads,
:mod:`medseg.data.sampling.mapped`). A worker that raises or dies stops the iteration with an error
naming the worker and the batch (a user error in a worker, e.g. a broken cache file, is re-raised as
the same one-line :class:`~medseg.core.errors.MedsegError`). Workers die with the training process,
even when it is killed with SIGKILL (:func:`medseg.core.orphans.die_with_parent`).
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import random
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch.multiprocessing as mp

from medseg.core.errors import MedsegError
from medseg.core.orphans import die_with_parent, started_from_main_thread
from medseg.data.sampling.random_roi import RandomROIDataset
from medseg.data.sampling.stages import DEFAULT_STAGE, SamplingStage

Batch = dict[str, torch.Tensor]
Augmentation = Callable[[Batch], Any]
#: seconds between checks that the workers are alive while waiting for a batch
POLL_S = 1.0


def batch_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of batch ``index`` of ``epoch``'s augmentation."""
    return int(np.random.SeedSequence([seed, epoch, index, 0xA06]).generate_state(1)[0])


def make_batch(
    dataset: RandomROIDataset,
    augmentation: Augmentation | None,
    seed: int,
    batch_size: int,
    epoch: int,
    index: int,
    stage: SamplingStage = DEFAULT_STAGE,
) -> Batch:
    """Batch ``index`` of ``epoch``: its samples stacked, then augmented with generators seeded for it.

    The global generators are restored afterwards, so calling this in the training process (no
    workers) leaves the training's random streams alone.
    """
    start = index * batch_size
    samples = [dataset[(epoch, i, stage)] for i in range(start, min(start + batch_size, len(dataset)))]
    batch = {key: torch.stack([s[key] for s in samples]) for key in samples[0]}
    if augmentation is None:
        return batch
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        value = batch_seed(seed, epoch, index)
        torch.manual_seed(value)
        np.random.seed(value)
        random.seed(value)
        out = augmentation(batch)
    random.setstate(py_state)
    np.random.set_state(np_state)
    if isinstance(out, tuple):
        image, label = out
        return {"image": image, "label": label} if label is not None else {"image": image}
    return dict(out)


def _worker_loop(
    dataset: RandomROIDataset,
    augmentation: Augmentation | None,
    seed: int,
    batch_size: int,
    slots: list[Batch],
    tasks: Any,
    results: Any,
    parent: int,
    main_thread: bool,
) -> None:
    """A worker: take ``(generation, epoch, batch, slot, stage)`` tasks until ``None``; fill the slot.

    It ends when the process ``parent`` dies (:func:`die_with_parent`).
    """
    die_with_parent(parent, death_signal=main_thread)
    torch.set_num_threads(1)
    while True:
        task = tasks.get()
        if task is None:
            return
        generation, epoch, index, slot, stage = task
        try:
            batch = make_batch(dataset, augmentation, seed, batch_size, epoch, index, stage)
            count = next(iter(batch.values())).shape[0]
            for key, target in slots[slot].items():
                if tuple(batch[key].shape[1:]) != tuple(target.shape[1:]) or batch[key].dtype != target.dtype:
                    raise ValueError(
                        f"batch {key!r} is {tuple(batch[key].shape)} {batch[key].dtype}, but the "
                        f"first batch was {tuple(target.shape)} {target.dtype}"
                    )
                target[:count].copy_(batch[key])
            results.put((generation, index, slot, count, None))
        except MedsegError as exc:  # a user error: the main process raises it as it is (one line)
            results.put((generation, index, slot, 0, exc))
        except Exception:  # reported to the main process, which raises it
            results.put((generation, index, slot, 0, traceback.format_exc()))


def _shutdown(processes: list[Any], tasks: list[Any]) -> None:
    for task_queue in tasks:
        with contextlib.suppress(OSError, ValueError):  # the queue may already be closed at exit
            task_queue.put(None)
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()


class PatchLoader:
    """An iterable of batches over ``dataset``'s current epoch (``dataset.set_epoch(e)`` selects it).

    Args:
        dataset: the patch sampler; ``len(loader)`` = its samples per epoch / ``batch_size``, rounded up.
        batch_size: samples per batch (the last batch of an epoch may be smaller).
        workers: worker processes (0 = batches are made in the calling process).
        augmentation: a callable on batch dicts, e.g. ``build_augmentation(...)``.
        seed: seeds the augmentation (the dataset has its own seed for the patches).
        pin_memory: copy batches into pinned memory (default: when CUDA is available).
        prefetch_factor: batches in flight per worker.
        timeout_s: how long to wait for one batch before giving up with an error.
        start_method: how workers start ("fork", "spawn", "forkserver"; default: the platform's).
            With anything but "fork" the dataset and the augmentation are pickled to the workers.
    """

    def __init__(
        self,
        dataset: RandomROIDataset,
        batch_size: int,
        workers: int = 2,
        augmentation: Augmentation | None = None,
        seed: int = 0,
        pin_memory: bool | None = None,
        prefetch_factor: int = 2,
        timeout_s: float = 600.0,
        start_method: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if workers < 0 or prefetch_factor < 1:
            raise ValueError(
                f"workers must be >= 0 and prefetch_factor >= 1, got {workers}, {prefetch_factor}"
            )
        self.dataset, self.batch_size, self.workers = dataset, int(batch_size), int(workers)
        self.augmentation, self.seed = augmentation, int(seed)
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.prefetch_factor, self.timeout_s = int(prefetch_factor), float(timeout_s)
        self.start_method = start_method
        self._processes: list[Any] = []
        self._tasks: list[Any] = []
        self._results: Any = None
        self._slots: list[Batch] = []
        self._free: list[int] = []
        self._in_flight = 0
        self._ready: dict[int, tuple[int, int, str | MedsegError | None]] = {}
        self._generation = 0
        self._finalizer: weakref.finalize | None = None

    def __len__(self) -> int:
        """Batches per epoch."""
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        """The batches of the dataset's current epoch, in order."""
        epoch = int(self.dataset.epoch)
        stage = getattr(self.dataset, "stage", DEFAULT_STAGE)
        if self.workers == 0:
            return (
                self._deliver(
                    make_batch(self.dataset, self.augmentation, self.seed, self.batch_size, epoch, b, stage)
                )
                for b in range(len(self))
            )
        first = self._start(epoch, stage) if not self._processes else None
        self._reclaim()
        self._generation += 1
        return self._iterate(self._generation, epoch, first, stage)

    def close(self) -> None:
        """Stop the workers (also done when the loader is garbage-collected or at exit)."""
        if self._finalizer is not None:
            self._finalizer()
        self._processes, self._tasks, self._slots = [], [], []

    def _deliver(self, batch: Mapping[str, torch.Tensor], count: int | None = None) -> Batch:
        """The batch to hand out: a slot's first ``count`` items are copied (the slot is reused), a
        batch made in this process is handed out as it is; either is pinned when asked."""
        out = {}
        for key, value in batch.items():
            part = value if count is None else value[:count]
            if self.pin_memory:
                part = part.pin_memory()
            elif count is not None:
                part = part.clone()
            out[key] = part
        return out

    def _start(self, epoch: int, stage: SamplingStage) -> Batch:
        """Make the epoch's first batch here, size the slots after it, start the workers; return it."""
        first = make_batch(self.dataset, self.augmentation, self.seed, self.batch_size, epoch, 0, stage)
        shapes = {k: ((self.batch_size, *v.shape[1:]), v.dtype) for k, v in first.items()}
        count = self.workers * self.prefetch_factor
        self._slots = [
            {k: torch.empty(shape, dtype=dtype).share_memory_() for k, (shape, dtype) in shapes.items()}
            for _ in range(count)
        ]
        self._free = list(range(count))
        context: Any = mp.get_context(self.start_method)  # torch's context: tensors travel as shared memory
        self._results = context.Queue()
        self._tasks = [context.SimpleQueue() for _ in range(self.workers)]
        self._processes = [
            context.Process(
                target=_worker_loop,
                daemon=True,
                name=f"medseg-loader-{k}",
                args=(
                    self.dataset,
                    self.augmentation,
                    self.seed,
                    self.batch_size,
                    self._slots,
                    self._tasks[k],
                    self._results,
                    os.getpid(),
                    started_from_main_thread(),
                ),
            )
            for k in range(self.workers)
        ]
        for process in self._processes:
            process.start()
        self._finalizer = weakref.finalize(self, _shutdown, self._processes, self._tasks)
        return first

    def _reclaim(self) -> None:
        """Take back every slot of an earlier, unfinished iteration."""
        for slot, _, _ in self._ready.values():
            self._free.append(slot)
        self._ready.clear()
        while self._in_flight:
            _, _, slot, _, _ = self._next_result(None)
            self._free.append(slot)

    def _next_result(self, index: int | None) -> tuple[int, int, int, int, str | MedsegError | None]:
        """The next finished task; raises if a worker died or nothing came within ``timeout_s``."""
        waited = 0.0
        while True:
            try:
                result = self._results.get(timeout=POLL_S)
            except queue.Empty:
                waited += POLL_S
                dead = [(k, p.exitcode) for k, p in enumerate(self._processes) if not p.is_alive()]
                what = "a batch" if index is None else f"batch {index}"
                if dead:
                    self.close()
                    raise RuntimeError(
                        f"loader worker {dead[0][0]} died (exit code {dead[0][1]}) while making {what}"
                    ) from None
                if waited >= self.timeout_s:
                    raise RuntimeError(
                        f"no loader worker delivered {what} within {self.timeout_s:g} s"
                    ) from None
                continue
            self._in_flight -= 1
            return result

    def _iterate(
        self, generation: int, epoch: int, first: Batch | None, stage: SamplingStage
    ) -> Iterator[Batch]:
        total = len(self)
        submitted = 0 if first is None else 1

        def submit() -> None:
            nonlocal submitted
            while self._free and submitted < total:
                slot = self._free.pop()
                self._tasks[submitted % self.workers].put((generation, epoch, submitted, slot, stage))
                self._in_flight += 1
                submitted += 1

        submit()
        if first is not None:
            yield self._deliver(first)
        for wanted in range(0 if first is None else 1, total):
            while wanted not in self._ready:
                gen, index, slot, count, error = self._next_result(wanted)
                if gen != generation:
                    self._free.append(slot)
                    continue
                self._ready[index] = (slot, count, error)
            slot, count, error = self._ready.pop(wanted)
            if error is not None:  # raised in batch order, so the same batch is named whatever the timing
                self._free.append(slot)
                if isinstance(error, MedsegError):
                    raise error
                raise RuntimeError(f"loader worker failed on batch {wanted} of epoch {epoch}:\n{error}")
            batch = self._deliver(self._slots[slot], count)
            self._free.append(slot)
            submit()
            yield batch


def make_loader(
    dataset: RandomROIDataset,
    batch_size: int,
    workers: int = 2,
    pin_memory: bool | None = None,
    prefetch_factor: int = 2,
    augmentation: Augmentation | None = None,
    seed: int = 0,
) -> PatchLoader:
    """A :class:`PatchLoader` over ``dataset``: call ``dataset.set_epoch(e)`` before iterating epoch ``e``.

    ``pin_memory`` defaults to whether CUDA is available. ``augmentation`` is a callable on batch
    dicts (e.g. ``medseg.data.augmentation.build_augmentation(...)``). Workers are persistent (kept
    across epochs until :meth:`PatchLoader.close` or garbage collection).
    """
    return PatchLoader(
        dataset,
        batch_size,
        workers=workers,
        augmentation=augmentation,
        seed=seed,
        pin_memory=pin_memory,
        prefetch_factor=prefetch_factor,
    )
