"""The derived surface-element tables against MONAI's copy of DeepMind's tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.metrics.utils import get_code_to_measure_table

from medseg.metrics.surface_elements import element_areas, neighbour_codes


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 1.3, 2.9), (3.0, 0.5, 0.8), (0.4, 2.2)])
def test_element_areas_match_deepmind_tables(spacing: tuple[float, ...]) -> None:
    reference, _ = get_code_to_measure_table(spacing)
    np.testing.assert_allclose(element_areas(spacing), reference.double().numpy(), rtol=1e-6, atol=1e-6)


def test_single_voxel_surface_is_a_closed_octahedron() -> None:
    # one voxel touches 8 windows, each holding one corner triangle: an octahedron of area sqrt(3)
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    codes = neighbour_codes(mask)
    assert codes.shape == (2, 2, 2)
    assert element_areas((1.0, 1.0, 1.0))[codes].sum() == pytest.approx(np.sqrt(3))


def test_neighbour_codes_match_a_convolution() -> None:
    mask = np.random.default_rng(0).random((5, 6, 4)) < 0.5
    kernel = torch.tensor([[[128, 64], [32, 16]], [[8, 4], [2, 1]]], dtype=torch.float64)[None, None]
    expected = torch.nn.functional.conv3d(torch.from_numpy(mask).double()[None, None], kernel)[0, 0]
    np.testing.assert_array_equal(neighbour_codes(mask), expected.numpy().astype(np.uint8))
