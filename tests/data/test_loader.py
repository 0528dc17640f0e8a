"""make_loader(): batches, epochs through persistent workers, augmentation and seeding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from medseg.config.plan import NormalizationSpec, Plan, ResamplingSpec
from medseg.data.augmentation import build_augmentation
from medseg.data.case import Case
from medseg.data.loader import make_loader
from medseg.data.preprocessing import preprocess
from medseg.data.sampling import RandomROIDataset
from medseg.io import Geometry, Image


class ListDataset:
    """A minimal dataset: a list of cases with their ids."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases
        self.case_ids = [c.case_id for c in cases]

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> Case:
        return self.cases[index]


def patches(tmp_path: Path, num_samples: int = 8) -> RandomROIDataset:
    rng = np.random.default_rng(0)
    cases = []
    for i in range(3):
        geometry = Geometry.identity(3)
        label = (rng.random((1, 10, 12, 11)) > 0.9).astype(np.uint8)
        image = rng.normal(size=(2, 10, 12, 11)).astype(np.float32)
        cases.append(Case(f"c{i}", Image(image, geometry), Image(label, geometry)))
    plan = Plan(
        spatial_dims=3,
        channel_names=["a", "b"],
        labels={"bg": 0, "fg": 1},
        target_spacing=[1.0, 1.0, 1.0],
        normalization=[NormalizationSpec(scheme="none")] * 2,
        resampling=ResamplingSpec(label_mode="nearest"),
        patch_size=[6, 6, 6],
        batch_size=4,
    )
    cache = preprocess(ListDataset(cases), plan, tmp_path, workers=1, progress=False)
    return RandomROIDataset(cache, [6, 6, 6], num_samples, seed=7)


def expected_batches(data: RandomROIDataset, epoch: int, batch_size: int) -> list[torch.Tensor]:
    samples = [data[(epoch, i)]["image"] for i in range(len(data))]
    return [torch.stack(samples[k : k + batch_size]) for k in range(0, len(samples), batch_size)]


def test_batches_are_the_stacked_samples_of_the_epoch(tmp_path: Path) -> None:
    data = patches(tmp_path)
    loader = make_loader(data, batch_size=4, workers=0, pin_memory=False)
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0]["image"].shape == (4, 2, 6, 6, 6) and batches[0]["label"].shape == (4, 1, 6, 6, 6)
    assert batches[0]["label"].dtype == torch.int16
    for got, want in zip(batches, expected_batches(data, 0, 4), strict=True):
        assert torch.equal(got["image"], want)


def test_persistent_workers_follow_set_epoch_and_match_a_single_process(tmp_path: Path) -> None:
    data = patches(tmp_path)
    loader = make_loader(data, batch_size=4, workers=2, pin_memory=False)
    for epoch in (0, 1):
        data.set_epoch(epoch)
        got = [b["image"] for b in loader]
        want = expected_batches(data, epoch, 4)
        assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
    assert not torch.equal(expected_batches(data, 0, 4)[0], expected_batches(data, 1, 4)[0])


def test_augmentation_runs_on_the_batch(tmp_path: Path) -> None:
    data = patches(tmp_path, 4)

    def flip(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {key: value.flip(-1) for key, value in batch.items()}

    batch = next(iter(make_loader(data, batch_size=4, workers=0, pin_memory=False, augmentation=flip)))
    plain = expected_batches(data, 0, 4)[0]
    assert torch.equal(batch["image"], plain.flip(-1))


def test_augmented_batches_are_reproducible_for_a_seed(tmp_path: Path) -> None:
    data = patches(tmp_path, 4)
    config = {"mirror": {"enabled": True}, "noise": {"p": 1.0}}
    runs = []
    for seed in (1, 1, 2):
        loader = make_loader(
            data,
            batch_size=2,
            workers=2,
            pin_memory=False,
            augmentation=build_augmentation(config, 3),
            seed=seed,
        )
        runs.append(torch.cat([b["image"] for b in loader]))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])
    plain = torch.cat(expected_batches(data, 0, 4))
    assert not torch.equal(runs[0], plain)


def test_batches_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    data = patches(tmp_path, 10)  # 3 batches of 4, the last one of 2
    config = {"mirror": {"enabled": True}, "noise": {"p": 1.0}, "spatial": {"p_rotation": 1.0}}
    runs = []
    for workers in (0, 1, 3):
        loader = make_loader(
            data,
            batch_size=4,
            workers=workers,
            pin_memory=False,
            augmentation=build_augmentation(config, 3),
            seed=5,
        )
        runs.append(list(loader))
        loader.close()
    assert [b["image"].shape[0] for b in runs[0]] == [4, 4, 2]
    for other in runs[1:]:
        for got, want in zip(other, runs[0], strict=True):
            assert torch.equal(got["image"], want["image"]) and torch.equal(got["label"], want["label"])
            assert got["label"].dtype == torch.int16 and not got["image"].is_shared()  # a private copy


def test_making_a_batch_in_process_leaves_the_global_random_streams_alone(tmp_path: Path) -> None:
    import random

    data = patches(tmp_path, 4)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    expected = (torch.rand(1), np.random.rand(), random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    list(
        make_loader(data, batch_size=2, workers=0, augmentation=build_augmentation({"noise": {"p": 1.0}}, 3))
    )
    assert (torch.rand(1), np.random.rand(), random.random()) == expected


def test_spawned_workers_deliver_the_same_batches(tmp_path: Path) -> None:
    from medseg.data.loader import PatchLoader

    data = patches(tmp_path, 8)
    loader = PatchLoader(
        data,
        4,
        workers=1,
        pin_memory=False,
        start_method="spawn",
        augmentation=build_augmentation({"noise": {"p": 1.0}}, 3),
        seed=3,
    )
    reference = PatchLoader(
        data,
        4,
        workers=0,
        pin_memory=False,
        augmentation=build_augmentation({"noise": {"p": 1.0}}, 3),
        seed=3,
    )
    for got, want in zip(loader, reference, strict=True):
        assert torch.equal(got["image"], want["image"]) and torch.equal(got["label"], want["label"])
    loader.close()


def test_an_abandoned_epoch_does_not_leak_into_the_next(tmp_path: Path) -> None:
    data = patches(tmp_path, 12)
    loader = make_loader(data, batch_size=2, workers=2, pin_memory=False)
    next(iter(loader))  # the trainer peeks at one batch like this
    data.set_epoch(1)
    got = [b["image"] for b in loader]
    want = expected_batches(data, 1, 2)
    assert len(got) == 6 and all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
    loader.close()


class _Exploding(RandomROIDataset):
    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        if isinstance(key, tuple) and key[1] >= 4:
            raise ValueError("broken case file")
        return super().__getitem__(key)


def test_a_failing_worker_is_an_error_naming_the_batch(tmp_path: Path) -> None:
    data = patches(tmp_path, 8)
    broken = _Exploding(data.preprocessed, data.patch_size, 8, seed=7)
    loader = make_loader(broken, batch_size=2, workers=2, pin_memory=False)
    with pytest.raises(
        RuntimeError, match=r"(?s)loader worker failed on batch 2 of epoch 0:.*broken case file"
    ):
        list(loader)
    loader.close()


def test_a_killed_worker_is_an_error(tmp_path: Path) -> None:
    import os
    import signal

    data = patches(tmp_path, 40)
    loader = make_loader(data, batch_size=2, workers=1, pin_memory=False)
    iterator = iter(loader)
    next(iterator)
    os.kill(loader._processes[0].pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"loader worker 0 died \(exit code -9\)"):
        list(iterator)
