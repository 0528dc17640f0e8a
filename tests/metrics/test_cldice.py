"""clDice: centreline overlap (Shit et al. 2021) on shapes whose skeletons are known, and real vessels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from medseg.metrics.registry import get_metric


def _bar(cols: slice) -> np.ndarray:
    mask = np.zeros((41, 61), dtype=bool)
    mask[18:23, cols] = True
    return mask


def test_a_prediction_covering_half_the_reference_centreline() -> None:
    cldice = get_metric("cldice")
    full, half = _bar(slice(5, 55)), _bar(slice(5, 30))
    # the short bar's centreline lies inside the long one (Tsens of the long as prediction = 1), while
    # only half of the long bar's centreline lies inside the short one (Tprec = 1/2)
    assert cldice(full, half) == pytest.approx(2 * 1.0 * 0.5 / 1.5, abs=0.04)
    assert cldice(half, full) == pytest.approx(cldice(full, half))
    assert cldice(full, full) == 1.0
    assert cldice(full, np.zeros_like(full)) == 0.0
    assert cldice(np.zeros_like(full), np.zeros_like(full)) == 1.0


def test_thin_vessels_a_dilated_copy_keeps_clDice_higher_than_dice(shared_data: Path) -> None:
    from scipy.ndimage import binary_dilation

    vessels = (
        np.asarray(PILImage.open(shared_data / "DRIVE" / "training" / "1st_manual" / "21_manual1.gif")) > 0
    )
    thick = binary_dilation(vessels, iterations=2)
    dice = get_metric("dice")(thick, vessels)
    assert get_metric("cldice")(thick, vessels) > 0.95 > dice  # topology kept, overlap not
