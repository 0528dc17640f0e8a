"""The training loader: batches of random patches from a :class:`RandomROIDataset`, augmented.

Workers read patches from memory maps (kept open, but their pages leave the process after every
read: :mod:`medseg.data.sampling.mapped`), so the loader's memory does not grow with the number of
cases. Batches are ``{"image": (B, C, *p) float32, "label": (B, 1, *p)
int16}`` (the cache's integer dtype); the augmentation, if any, runs on the whole batch inside the worker (in ``collate``).
Seeding: patch positions depend only on ``(seed, epoch, index)``; augmentation draws from each
worker's torch generator, which the loader seeds from ``seed`` and the worker id.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, get_worker_info
from typing_extensions import override

from medseg.data.sampling.random_roi import RandomROIDataset

Batch = dict[str, torch.Tensor]
Augmentation = Callable[[Batch], Any]


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, index)`` for every sample of the dataset's current epoch.

    It runs in the main process, so ``dataset.set_epoch(e)`` reaches persistent workers too.
    """

    def __init__(self, dataset: RandomROIDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        """Samples per epoch."""
        return len(self.dataset)

    @override
    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.dataset.epoch
        return iter([(epoch, i) for i in range(len(self.dataset))])


def shared_views(specs: Mapping[str, tuple[tuple[int, ...], torch.dtype]]) -> Batch:
    """Empty tensors of the given ``(shape, dtype)`` that are views into one shared-memory block.

    A worker hands every storage of a batch to the main process separately (a shared-memory
    handle, fetched over a socket from the worker), so one block per batch halves that work for
    an image + label batch.
    """
    offsets: dict[str, int] = {}
    total = 0
    for key, (shape, dtype) in specs.items():
        total = -(-total // 16) * 16  # 16-byte aligned views
        offsets[key] = total
        total += math.prod(shape) * torch.empty(0, dtype=dtype).element_size()
    storage = torch.UntypedStorage._new_shared(max(total, 1))  # type: ignore[attr-defined]
    block = torch.empty(0, dtype=torch.uint8).set_(storage)
    return {key: block[offsets[key]:].view(dtype)[: math.prod(shape)].view(shape)
            for key, (shape, dtype) in specs.items()}


def stack_batch(samples: Sequence[Mapping[str, torch.Tensor]]) -> Batch:
    """Stack samples into a batch; in a loader worker straight into one shared-memory block."""
    if get_worker_info() is None:
        return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}
    first = samples[0]
    out = shared_views({k: ((len(samples), *t.shape), t.dtype) for k, t in first.items()})
    for key, target in out.items():
        torch.stack([s[key] for s in samples], out=target)
    return out


def pack_shared(batch: Batch) -> Batch:
    """``batch`` copied into one shared-memory block in a loader worker (unchanged elsewhere)."""
    if get_worker_info() is None or not batch:
        return batch
    out = shared_views({k: (tuple(t.shape), t.dtype) for k, t in batch.items()})
    for key, target in out.items():
        target.copy_(batch[key])
    return out


class PatchCollate:
    """Stacks samples into a batch and applies the (batched) augmentation to it."""

    def __init__(self, augmentation: Augmentation | None = None) -> None:
        self.augmentation = augmentation

    def __call__(self, samples: Sequence[Mapping[str, torch.Tensor]]) -> Batch:
        """The batch of ``samples``, augmented.

        In a worker the result lies in one shared-memory block (:func:`pack_shared`).
        """
        if self.augmentation is None:
            return stack_batch(samples)
        batch: Batch = {key: torch.stack([s[key] for s in samples]) for key in samples[0]}
        out = self.augmentation(batch)
        if isinstance(out, tuple):
            image, label = out
            batch = {"image": image, "label": label} if label is not None else {"image": image}
        else:
            batch = dict(out)
        return pack_shared(batch)


def seed_worker(worker_id: int) -> None:
    """Seed numpy and ``random`` in a worker from the seed torch gave it (``worker_init_fn``)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_loader(
    dataset: RandomROIDataset,
    batch_size: int,
    workers: int = 2,
    pin_memory: bool | None = None,
    prefetch_factor: int | None = 2,
    persistent_workers: bool = True,
    augmentation: Augmentation | None = None,
    seed: int = 0,
) -> DataLoader[Batch]:
    """A DataLoader over ``dataset``: call ``dataset.set_epoch(e)`` before iterating epoch ``e``.

    ``pin_memory`` defaults to whether CUDA is available. ``augmentation`` is a callable on batch
    dicts (e.g. ``medseg.data.augmentation.build_augmentation(...)``).
    """
    pin = torch.cuda.is_available() if pin_memory is None else pin_memory
    extra: dict[str, Any] = {}
    if workers > 0:
        extra = {"prefetch_factor": prefetch_factor, "persistent_workers": persistent_workers}
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=EpochSampler(dataset),
        num_workers=workers,
        collate_fn=PatchCollate(augmentation),
        pin_memory=pin,
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(seed),
        **extra,
    )
