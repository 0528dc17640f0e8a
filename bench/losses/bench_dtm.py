"""Distance maps for the DTM losses: computed on the fly per batch vs looked up from a precomputed cache.

Run: .venv/bin/python bench/losses/bench_dtm.py [--repeats 40] [--cases 10] [--data ../shared/data]

Workloads (real labels):
* hippocampus: Task04 labels padded / cropped to 40x56x40 (1 mm), batches of 2, maps of the 2
  foreground classes (softmax convention);
* DRIVE: manual vessel masks, random 256x256 crops, batches of 8, one sigmoid channel.

Contenders, alternated inside one run (the order flips every repeat), one batch per call:
* on the fly: ``BoundaryLoss.target_distance_maps`` -- exactly what the losses do in ``forward``:
  target tensor -> numpy -> ``edt`` (both sides, spacing-aware) -> normalise -> torch tensor;
* cached: the same maps precomputed once into a ``.npy`` file, opened with ``np.load(mmap_mode="r")``;
  a lookup gathers the batch's rows (random patch ids, as a loader would) and makes a torch tensor.
  The file is small, so after the first reads this is a warm page-cache read: the cache's best case.
* for scale, the whole boundary loss forward (Dice + boundary term, on the fly) on random logits.

Prints min / median ms per batch and the ratio on-the-fly / cached. CPU only, 1 thread.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from medseg.io import read_image
from medseg.losses import BoundaryLoss

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _fit(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Centre-pad with zeros / centre-crop ``array`` to ``shape``."""
    out = np.zeros(shape, dtype=array.dtype)
    src, dst = [], []
    for n, m in zip(array.shape, shape):
        if n >= m:
            a = (n - m) // 2
            src.append(slice(a, a + m))
            dst.append(slice(0, m))
        else:
            a = (m - n) // 2
            src.append(slice(0, n))
            dst.append(slice(a, a + n))
    out[tuple(dst)] = array[tuple(src)]
    return out


def hippocampus_patches(data: Path, cases: int) -> np.ndarray:
    """``(cases, 1, 40, 56, 40)`` int64 labels."""
    paths = sorted((data / "Task04_Hippocampus" / "labelsTr").glob("*.nii.gz"))[:cases]
    return np.stack([_fit(read_image(p, is_label=True).array[0], (40, 56, 40)) for p in paths])[
        :, None
    ].astype(np.int64)


def drive_patches(data: Path, count: int, rng: np.random.Generator) -> np.ndarray:
    """``(count, 1, 256, 256)`` float32 0/1 random crops of the DRIVE manual masks."""
    masks = [
        read_image(p, is_label=True).array[0] > 0
        for p in sorted((data / "DRIVE" / "training" / "1st_manual").glob("*.gif"))
    ]
    crops = []
    for i in range(count):
        m = masks[i % len(masks)]
        y, x = rng.integers(0, m.shape[0] - 256), rng.integers(0, m.shape[1] - 256)
        crops.append(m[y : y + 256, x : x + 256])
    return np.stack(crops)[:, None].astype(np.float32)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def run(
    name: str,
    patches: np.ndarray,
    batch: int,
    loss: BoundaryLoss,
    repeats: int,
    folder: Path,
    rng: np.random.Generator,
) -> list[str]:
    """Benchmark one workload; returns markdown rows."""
    spacing = loss.distance_spacing
    cpu = torch.device("cpu")
    maps = np.concatenate(
        [
            loss.target_distance_maps(torch.from_numpy(patches[i : i + 1]), spacing, cpu).numpy()
            for i in range(len(patches))
        ]
    )
    path = folder / f"{name}_dtm.npy"
    np.save(path, maps)
    cache = np.load(path, mmap_mode="r")
    channels = loss.out_channels

    def pick() -> np.ndarray:
        return rng.choice(len(patches), size=batch, replace=False)

    def on_the_fly() -> None:
        target = torch.from_numpy(patches[pick()])
        loss.target_distance_maps(target, spacing, cpu)

    def cached() -> None:
        torch.from_numpy(np.ascontiguousarray(cache[np.sort(pick())]))

    def forward() -> None:
        target = torch.from_numpy(patches[pick()])
        loss(torch.randn(batch, channels, *patches.shape[2:]), target)

    contenders: dict[str, Callable[[], None]] = {
        "on the fly": on_the_fly,
        "cached (mmap)": cached,
        "boundary loss forward": forward,
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():  # warm-up: imports, page cache, allocator
        fn()
    for r in range(repeats):
        order = list(contenders) if r % 2 == 0 else list(reversed(contenders))
        for key in order:
            times[key].append(timed(contenders[key]))
    fly, hit = statistics.median(times["on the fly"]), statistics.median(times["cached (mmap)"])
    rows = []
    for key, values in times.items():
        rows.append(f"| {name} | {key} | {min(values):.2f} | {statistics.median(values):.2f} |")
    rows.append(f"| {name} | ratio on the fly / cached (medians) | | {fly / hit:.1f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument(
        "--cases", type=int, default=10, help="hippocampus cases / DRIVE crops x 2 in the pool"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    hippo = hippocampus_patches(args.data, max(args.cases, 2))
    drive = drive_patches(args.data, max(2 * args.cases, 8), rng)
    rows = ["| workload | contender | min ms / batch | median ms / batch |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        rows += run(
            "hippocampus 2x40x56x40 (2 classes)",
            hippo,
            2,
            BoundaryLoss(3, "softmax", (1.0, 1.0, 1.0)),
            args.repeats,
            Path(tmp),
            rng,
        )
        rows += run(
            "DRIVE 8x256x256 (1 region)",
            drive,
            8,
            BoundaryLoss(1, "sigmoid", (1.0, 1.0)),
            args.repeats,
            Path(tmp),
            rng,
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
