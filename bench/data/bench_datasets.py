"""Loading a whole MSD dataset: medseg's MSDDataset versus MONAI's LoadImaged, and check() (headers).

Run: .venv/bin/python bench/data/bench_datasets.py [--repeats 3]
Reads the 208 cases of ../shared/data/Task04_Hippocampus (image + label each) and prints the best
of ``--repeats`` wall times per method, with the ratio to MONAI.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from medseg.data import MSDDataset

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data")) / "Task04_Hippocampus"


def medseg_load_all() -> float:
    """Read every case (image + label, grids validated) through MSDDataset."""
    total = 0.0
    for case in MSDDataset(DATA):
        total += float(case.image.array.sum())
    return total


def medseg_check_all() -> float:
    """Validate every case from the file headers only."""
    MSDDataset(DATA).check(progress=False)
    return 0.0


def monai_load_all() -> float:
    """Read every case with MONAI's dictionary loader (nibabel reader, channel first)."""
    from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged

    meta = json.loads((DATA / "dataset.json").read_text(encoding="utf-8"))
    items = [{"image": str(DATA / e["image"]), "label": str(DATA / e["label"])} for e in meta["training"]]
    load = Compose(
        [
            LoadImaged(keys=["image", "label"], reader="NibabelReader"),
            EnsureChannelFirstd(keys=["image", "label"]),
        ]
    )
    total = 0.0
    for item in items:
        out = load(item)
        total += float(np.asarray(out["image"]).sum())
    return total


def best_time(fn: Callable[[], float], repeats: int) -> float:
    """The smallest wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Time each method and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    assert np.isclose(medseg_load_all(), monai_load_all(), rtol=1e-6), "the loaders disagree"
    rows = [
        ("MONAI LoadImaged (nibabel), 208 cases", best_time(monai_load_all, args.repeats)),
        ("medseg MSDDataset, iterate 208 cases", best_time(medseg_load_all, args.repeats)),
        ("medseg MSDDataset.check() (headers only)", best_time(medseg_check_all, args.repeats)),
    ]
    reference = rows[0][1]
    print(f"{'method':<44} {'seconds':>8} {'vs MONAI':>9}")
    for name, seconds in rows:
        print(f"{name:<44} {seconds:>8.3f} {reference / seconds:>8.2f}x")


if __name__ == "__main__":
    main()
