"""Write the fixed train/test splits of the peer race (run once; the JSON files are committed).

Run: PYTHONPATH=src .venv/bin/python bench/peers/make_splits.py

Hippocampus (208 cases): the test set is fold 1 of ``kfold_assignments(case_ids, 5, seed=0)`` (42 cases),
a fold that no tuning of medseg used (the quality benchmark and the planner calibration use fold 0);
the other 166 cases are the training set of every peer. DRIVE (20 training images): fold 1 of
``kfold_assignments(ids, 4, seed=0)`` is the test set (5 images), the other 15 train.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))


def split(case_ids: list[str], n_folds: int, source: str) -> dict[str, object]:
    """``{"train": [...], "test": [...]}`` with fold 1 of the seeded k-fold assignment as the test set."""
    from medseg.data.folds import fold_ids, kfold_assignments

    train, test = fold_ids(kfold_assignments(case_ids, n_folds, seed=0), 1)
    return {
        "source": source,
        "rule": f"test = fold 1 of kfold_assignments(case_ids, {n_folds}, seed=0)",
        "train": train,
        "test": test,
    }


def main() -> None:
    """Write split_hippocampus.json and split_drive.json beside this script."""
    from medseg.data import MSDDataset
    from medseg.data.datasets.detect import open_dataset

    hippo = MSDDataset(SHARED / "Task04_Hippocampus").case_ids
    drive = open_dataset(SHARED / "DRIVE" / "training").case_ids
    for name, ids, k, source in (
        ("hippocampus", hippo, 5, "Task04_Hippocampus"),
        ("drive", drive, 4, "DRIVE/training"),
    ):
        data = split(list(ids), k, source)
        path = HERE / f"split_{name}.json"
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"{path.name}: {len(data['train'])} train / {len(data['test'])} test")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
