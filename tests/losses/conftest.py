"""Real masks for the loss tests: small crops of Task04 hippocampus labels (3D) and DRIVE vessels (2D).

Tests that need ``../shared/data`` (or ``$MEDSEG_SHARED_DATA``) skip with a reason when it is
absent, except under ``CI=true``, where its absence fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from medseg.io import read_image

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("MEDSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
HIPPO_CROP = (16, 20, 16)
DRIVE_WINDOW = (slice(100, 148), slice(300, 348))


def require_data(*parts: str) -> Path:
    """The path ``SHARED_DATA/parts`` if it exists; else skip (or fail when ``CI=true``)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"{path}: real data missing (set MEDSEG_SHARED_DATA to the shared data folder)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _center_crop(array: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    nz = np.argwhere(array > 0)
    center = (nz.min(0) + nz.max(0)) // 2
    starts = [int(np.clip(c - s // 2, 0, n - s)) for c, s, n in zip(center, size, array.shape)]
    return array[tuple(slice(a, a + s) for a, s in zip(starts, size))]


@pytest.fixture(scope="session")
def hippo_labels() -> torch.Tensor:
    """``(2, 1, 16, 20, 16)`` int64 labels 0/1/2 of two hippocampus cases (1 mm), each with both classes."""
    folder = require_data("Task04_Hippocampus", "labelsTr")
    crops = []
    for path in sorted(folder.glob("*.nii.gz"))[:2]:
        crop = _center_crop(read_image(path, is_label=True).array[0], HIPPO_CROP)
        assert set(np.unique(crop)) == {0, 1, 2}, path
        crops.append(crop.astype(np.int64))
    return torch.from_numpy(np.stack(crops))[:, None]


@pytest.fixture(scope="session")
def hippo_regions(hippo_labels: torch.Tensor) -> torch.Tensor:
    """Overlapping sigmoid regions ``(2, 2, ...)`` float: whole hippocampus (1 or 2) and label 2."""
    return torch.cat([(hippo_labels > 0), (hippo_labels == 2)], 1).float()


@pytest.fixture(scope="session")
def drive_masks() -> torch.Tensor:
    """``(2, 1, 48, 48)`` int64 vessel masks 0/1 cropped from two DRIVE manual annotations."""
    folder = require_data("DRIVE", "training", "1st_manual")
    crops = [
        (read_image(p, is_label=True).array[0][DRIVE_WINDOW] > 0).astype(np.int64)
        for p in sorted(folder.glob("*.gif"))[:2]
    ]
    return torch.from_numpy(np.stack(crops))[:, None]


def _logits_like(target: torch.Tensor, channels: int, activation: str, seed: int = 0) -> torch.Tensor:
    """Plausible logits for ``target``: the true class (or region) raised by 2, plus unit Gaussian noise."""
    gen = torch.Generator().manual_seed(seed)
    if activation == "softmax":
        hot = torch.nn.functional.one_hot(target[:, 0].long(), channels).movedim(-1, 1).float()
        signal = 2.0 * hot
    else:
        signal = 4.0 * target.float() - 2.0
    noise = torch.randn(signal.shape, generator=gen)
    return signal + noise


@pytest.fixture(scope="session")
def make_logits() -> Callable[..., torch.Tensor]:
    """``make_logits(target, channels, activation, seed=0)``: logits that roughly agree with ``target``."""
    return _logits_like
