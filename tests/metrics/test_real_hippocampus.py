"""HD95 and NSD on real hippocampus labels (Task04) against MONAI, isotropic and anisotropic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from monai.metrics import compute_hausdorff_distance, compute_surface_dice
from scipy import ndimage

from medseg.metrics import hd95, normalized_surface_dice


def _labels(shared_data: Path, count: int) -> list[tuple[np.ndarray, tuple[float, ...]]]:
    files = sorted((shared_data / "Task04_Hippocampus" / "labelsTr").glob("*.nii.gz"))[:count]
    out = []
    for f in files:
        img = sitk.ReadImage(str(f))
        out.append((sitk.GetArrayFromImage(img), tuple(float(s) for s in reversed(img.GetSpacing()))))
    return out


@pytest.mark.parametrize("anisotropic", [False, True])
def test_hippocampus_label_vs_perturbed_matches_monai(shared_data: Path, anisotropic: bool) -> None:
    for i, (label, spacing) in enumerate(_labels(shared_data, 3)):
        if anisotropic:
            spacing = (2.5, 0.7, 1.2)
        for cls in (1, 2):
            ref = label == cls
            pred = np.roll(ndimage.binary_dilation(ref, iterations=1 + i % 2), 1 + i, axis=i % 3)
            p, r = torch.from_numpy(pred)[None, None], torch.from_numpy(ref)[None, None]
            expected_hd = compute_hausdorff_distance(p, r, spacing=spacing, percentile=95).item()
            expected_nsd = compute_surface_dice(
                p, r, [1.0], include_background=True, spacing=spacing, use_subvoxels=True
            ).item()
            assert hd95(pred, ref, spacing) == pytest.approx(expected_hd, abs=1e-4)
            assert normalized_surface_dice(pred, ref, 1.0, spacing) == pytest.approx(expected_nsd, abs=1e-4)
            assert 0 < expected_nsd < 1  # a real disagreement, not a trivial 0 or 1
