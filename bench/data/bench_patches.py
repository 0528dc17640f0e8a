"""Training patches per second: sampling + augmentation, medseg versus MONAI and TorchIO.

Run: .venv/bin/python bench/data/bench_patches.py [--workers 2] [--quick]

Two data sets, both as preprocessed .npy files made by medseg (so all three read the same arrays):

* hippocampus: the 208 Task04 cases at 1 mm (cache shared with bench_loader.py), patches 40x56x40,
  batches of 8.
* synthetic: one 256^3 volume (noisy spheres, labels 0/1), patches 128^3, batches of 2.

Pipelines, all with ``--workers`` loader workers and one torch thread per process:

* medseg: ``make_loader(RandomROIDataset(..., foreground_oversampling=0.33),
  augmentation=build_augmentation(None, 3))`` - nnU-Net v2's default augmentations on the batch.
* MONAI: ``CacheDataset`` (LoadImaged + SpatialPadd cached, MONAI's fast path) then
  RandCropByPosNegLabeld (pos 1, neg 2 = 1/3 foreground) and the closest dictionary transforms of
  the same settings: RandAffined (p 0.36 = P(rotation or scaling), +-30 deg, scale 0.7-1.4), Gaussian
  noise (p 0.1), Gaussian smoothing (p 0.2), RandScaleIntensityd (p 0.15), RandAdjustContrastd
  (gamma, p 0.3), RandFlipd (p 0.5 per axis); ``set_track_meta(False)``.
* TorchIO: ``Queue`` + ``LabelSampler`` (label 0 with probability 2/3), transforms (RandomAffine
  p 0.36, RandomNoise, RandomBlur, RandomGamma, RandomFlip) applied to the whole volume before
  patching, TorchIO's usual way: one patch per hippocampus volume (the volume is about the patch
  size, so the augmentation work per patch matches), 4 patches per augmented 256^3 volume (TorchIO
  then augments 4x less per patch than the others).

Each data set is run twice: sampling only (no augmentation) and sampling + augmentation.

MONAI and TorchIO have no contrast-with-range-preservation or low-resolution step here, so they do
slightly less work. Timing includes worker start-up and prefetching (see ``timed``). Prints a
markdown table of patches/s with the ratio medseg / peer.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from medseg.config.plan import NormalizationSpec, Plan
from medseg.data.augmentation import build_augmentation
from medseg.data.case import Case
from medseg.data.loader import make_loader
from medseg.data.preprocessing import PreprocessedDataset, preprocess
from medseg.data.sampling import RandomROIDataset
from medseg.io import Geometry, Image

HERE = Path(__file__).resolve().parent


def hippocampus_cache(path: Path) -> PreprocessedDataset:
    """The hippocampus cache of bench_loader.py (built there, reused here)."""
    spec = importlib.util.spec_from_file_location("bench_loader", HERE / "bench_loader.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_cache(path)
    return PreprocessedDataset(path)


def synthetic_cache(path: Path, size: int = 256) -> PreprocessedDataset:
    """One ``size``^3 volume of noisy spheres (label 1 inside them), preprocessed at 1 mm."""
    rng = np.random.default_rng(0)
    grid = np.indices((size, size, size), dtype=np.float32)
    label = np.zeros((size,) * 3, dtype=np.uint8)
    for _ in range(6):
        centre = rng.uniform(0.2, 0.8, 3) * size
        radius = rng.uniform(0.04, 0.1) * size
        distance = sum((grid[a] - centre[a]) ** 2 for a in range(3))
        label[distance < radius**2] = 1
    del grid
    image = (100 + 50 * label + rng.normal(0, 20, label.shape)).astype(np.float32)
    geometry = Geometry.identity(3)
    case = Case("synthetic", Image(image[None], geometry), Image(label[None], geometry))
    plan = Plan(
        spatial_dims=3,
        channel_names=["x"],
        labels={"background": 0, "sphere": 1},
        target_spacing=[1.0, 1.0, 1.0],
        normalization=[NormalizationSpec(scheme="zscore")],
        patch_size=[128, 128, 128],
        batch_size=2,
    )

    class One:
        case_ids: ClassVar[list[str]] = ["synthetic"]

        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: int) -> Case:
            return case

    return preprocess(One(), plan, path, workers=1, progress=False)  # type: ignore[arg-type]


def files_of(cache: PreprocessedDataset) -> list[dict[str, str]]:
    root = cache.root / "cases"
    return [
        {"image": str(root / c / "image.npy"), "label": str(root / c / "label.npy")} for c in cache.case_ids
    ]


def timed(batches: Iterable[Any], num_batches: int, batch_size: int) -> float:
    """Patches per second over ``num_batches`` batches, worker start-up and queue filling included.

    Timing from the first batch on would flatter loaders that prefetch (a Queue or prefetch_factor
    fills ahead while the first batch is awaited), so the clock starts before the iterator.
    """
    start = time.perf_counter()
    iterator = iter(batches)
    for _ in range(num_batches):
        next(iterator)
    return num_batches * batch_size / (time.perf_counter() - start)


def run_medseg(
    cache: PreprocessedDataset, patch: list[int], batch: int, batches: int, workers: int, augment: bool
) -> float:
    data = RandomROIDataset(cache, patch, (batches + 1) * batch, foreground_oversampling=0.33)
    loader = make_loader(
        data,
        batch,
        workers=workers,
        pin_memory=False,
        augmentation=build_augmentation(None, 3) if augment else None,
    )
    return timed(loader, batches, batch)


def run_monai(
    cache: PreprocessedDataset, patch: list[int], batch: int, batches: int, workers: int, augment: bool
) -> float:
    from monai import transforms as mt
    from monai.data import CacheDataset, DataLoader, set_track_meta

    set_track_meta(False)
    keys = ["image", "label"]
    deterministic = mt.Compose(
        [
            mt.LoadImaged(keys, reader="NumpyReader", channel_dim=0, image_only=True),
            mt.SpatialPadd(keys, patch),
        ]
    )
    crop = mt.RandCropByPosNegLabeld(keys, "label", patch, pos=1, neg=2, num_samples=1)
    augmentations = mt.Compose(
        [
            mt.RandAffined(
                keys,
                prob=0.36,
                rotate_range=[np.pi / 6] * 3,
                scale_range=[(-0.3, 0.4)] * 3,
                mode=("bilinear", "nearest"),
            ),
            mt.RandGaussianNoised("image", prob=0.1, std=0.1),
            mt.RandGaussianSmoothd("image", (0.5, 1.0), (0.5, 1.0), (0.5, 1.0), prob=0.2),
            mt.RandScaleIntensityd("image", 0.25, prob=0.15),
            mt.RandAdjustContrastd("image", prob=0.3, gamma=(0.7, 1.5)),
            mt.RandFlipd(keys, prob=0.5, spatial_axis=0),
            mt.RandFlipd(keys, prob=0.5, spatial_axis=1),
            mt.RandFlipd(keys, prob=0.5, spatial_axis=2),
        ]
    )
    files = files_of(cache)
    repeats = ((batches + 1) * batch) // len(files) + 1
    data = CacheDataset(files * repeats, deterministic, cache_num=len(files), progress=False, num_workers=1)
    pipeline = mt.Compose([crop, augmentations] if augment else [crop])

    class Sampled(torch.utils.data.Dataset[dict[str, Any]]):
        def __len__(self) -> int:
            return len(files) * repeats

        def __getitem__(self, index: int) -> dict[str, Any]:
            return pipeline(data[index % len(files)])[0]  # type: ignore[no-any-return]

    loader = DataLoader(Sampled(), batch_size=batch, num_workers=workers, shuffle=True)
    return timed(loader, batches, batch)


def _npy_reader(path: Any) -> tuple[torch.Tensor, np.ndarray]:
    return torch.from_numpy(np.load(path)), np.eye(4)


def _pad_to(tensor: torch.Tensor, patch: list[int]) -> torch.Tensor:
    """Zero-pad a ``(C, *spatial)`` tensor to at least ``patch`` (TorchIO's sampler needs it)."""
    pads: list[int] = []
    for size, want in reversed(list(zip(tensor.shape[1:], patch, strict=True))):
        missing = max(want - size, 0)
        pads += [missing // 2, missing - missing // 2]
    return torch.nn.functional.pad(tensor, pads)


def run_torchio(
    cache: PreprocessedDataset, patch: list[int], batch: int, batches: int, workers: int, augment: bool
) -> float:
    import torchio as tio

    subjects = [
        tio.Subject(
            image=tio.ScalarImage(f["image"], reader=_npy_reader),
            label=tio.LabelMap(f["label"], reader=_npy_reader),
        )
        for f in files_of(cache)
    ]
    per_volume = 1 if len(subjects) > 1 else 4  # one synthetic volume: 4 patches per augmented volume
    subjects *= ((batches + 1) * batch) // (per_volume * len(subjects)) + 1  # enough volumes for every batch
    pad = tio.Lambda(functools.partial(_pad_to, patch=patch))
    augmentations = tio.Compose(
        [
            tio.RandomAffine(p=0.36, scales=(0.7, 1.4), degrees=30),
            tio.RandomNoise(p=0.1, std=(0, 0.1)),
            tio.RandomBlur(p=0.2, std=(0.5, 1.0)),
            tio.RandomGamma(p=0.3, log_gamma=(np.log(0.7), np.log(1.5))),
            tio.RandomFlip(axes=(0, 1, 2), flip_probability=0.5),
        ]
    )
    transform = tio.Compose([pad, augmentations] if augment else [pad])
    values = sorted({int(k) for i in range(len(cache)) for k in cache.properties(i)["class_voxel_counts"]})
    foreground = [v for v in values if v != 0]
    probabilities = {0: 2 / 3, **{v: 1 / 3 / len(foreground) for v in foreground}}
    sampler = tio.LabelSampler(patch, "label", probabilities)
    queue = tio.Queue(
        tio.SubjectsDataset(subjects, transform=transform),
        4 * batch,
        per_volume,
        sampler,
        num_workers=workers,
    )
    loader = torch.utils.data.DataLoader(queue, batch_size=batch, num_workers=0)
    return timed(loader, batches, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer batches (a smoke run)")
    parser.add_argument("--hippocampus-cache", type=Path, default=Path("/tmp/medseg_bench_hippo"))
    parser.add_argument("--synthetic-cache", type=Path, default=Path("/tmp/medseg_bench_synth256"))
    # 200 batches of 8 last a second or more per library: with 40, a run took ~0.25 s on a quiet
    # machine and the ratio mostly measured worker start-up
    parser.add_argument("--hippocampus-batches", type=int, default=200)
    parser.add_argument("--only", choices=["hippocampus", "synthetic"], help="run one data set")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = [
        (
            "hippocampus 40x56x40",
            hippocampus_cache(args.hippocampus_cache),
            [40, 56, 40],
            8,
            5 if args.quick else args.hippocampus_batches,
        ),
        (
            "synthetic 256^3, 128^3",
            synthetic_cache(args.synthetic_cache),
            [128, 128, 128],
            2,
            3 if args.quick else 10,
        ),
    ]
    runners = {"medseg": run_medseg, "MONAI": run_monai, "TorchIO": run_torchio}
    print(f"{args.workers} workers, 1 torch thread per process\n")
    header = (
        "| data, patch | step | batches x size | medseg | MONAI | TorchIO | medseg/MONAI | medseg/TorchIO |"
    )
    print(header + "\n|---|---|---|---|---|---|---|---|")
    for name, cache, patch, batch, batches in settings:
        if args.only and not name.startswith(args.only):
            continue
        for augment in (False, True):
            step = "sampling + augmentation" if augment else "sampling only"
            rates = {}
            for peer, run in runners.items():
                rates[peer] = run(cache, patch, batch, batches, args.workers, augment)
                print(f"  {name}, {step}: {peer} {rates[peer]:.1f} patches/s", file=sys.stderr)
            print(
                f"| {name} | {step} | {batches} x {batch} | {rates['medseg']:.1f} | {rates['MONAI']:.1f} "
                f"| {rates['TorchIO']:.1f} | {rates['medseg'] / rates['MONAI']:.2f} "
                f"| {rates['medseg'] / rates['TorchIO']:.2f} |"
            )


if __name__ == "__main__":
    main()
