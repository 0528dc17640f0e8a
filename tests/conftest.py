"""Shared fixtures: where the real data lives, and a fixed seed for every test."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)


def unavailable(reason: str) -> None:
    """Skip the test with ``reason``, or fail it under ``CI=true`` (where everything must be present)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets of ../shared/data (see its README); CI provides them beside the clone.

    Absent: the test is skipped with the reason, except under ``CI=true`` where it fails.
    """
    if not SHARED_DATA.is_dir():
        unavailable(f"{SHARED_DATA}: real data folder missing (set MEDSEG_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
