"""make_loader(): batches, epochs through persistent workers, augmentation and seeding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    loader = make_loader(data, batch_size=4, workers=2, pin_memory=False, persistent_workers=True)
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
            persistent_workers=False,
            augmentation=build_augmentation(config, 3),
            seed=seed,
        )
        runs.append(torch.cat([b["image"] for b in loader]))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])
    plain = torch.cat(expected_batches(data, 0, 4))
    assert not torch.equal(runs[0], plain)


def test_worker_batches_arrive_in_one_shared_block_with_the_right_values(tmp_path: Path) -> None:
    data = patches(tmp_path)

    def flip(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {key: value.flip(-1) for key, value in batch.items()}

    for augmentation in (None, flip):
        loader = make_loader(data, batch_size=4, workers=1, pin_memory=False, augmentation=augmentation,
                             persistent_workers=False)
        batch = next(iter(loader))
        image, label = batch["image"], batch["label"]
        assert image.untyped_storage().data_ptr() == label.untyped_storage().data_ptr()  # one block
        assert image.is_shared() and image.is_contiguous() and label.dtype == torch.int16
        samples = [data[(0, i)] for i in range(4)]
        want_image = torch.stack([s["image"] for s in samples])
        want_label = torch.stack([s["label"] for s in samples])
        if augmentation is not None:
            want_image, want_label = want_image.flip(-1), want_label.flip(-1)
        assert torch.equal(image, want_image) and torch.equal(label, want_label)
