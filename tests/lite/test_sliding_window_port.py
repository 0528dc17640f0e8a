"""The NumPy sliding window of medseg.lite against the torch one: same grid, weights and output."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from medseg.inference.importance import importance_map as torch_importance
from medseg.inference.sliding_window import sliding_window_inference
from medseg.inference.windows import window_grid
from medseg.lite.blending import importance_map, weight_sum
from medseg.lite.sliding_window import sliding_window


@pytest.mark.parametrize("mode", ["gaussian", "hann", "constant"])
@pytest.mark.parametrize("patch", [(16, 16, 16), (7, 12, 5), (32, 48), (1, 9)])
def test_importance_map_matches_torch(mode: str, patch: tuple[int, ...]) -> None:
    ours = importance_map(patch, mode)
    reference = torch_importance(patch, mode).numpy()
    assert ours.dtype == np.float32 and ours.shape == patch
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-7)


def test_importance_map_per_axis_sigma_matches_torch() -> None:
    np.testing.assert_allclose(
        importance_map((10, 20, 8), "gaussian", (0.1, 0.2, 0.3)),
        torch_importance((10, 20, 8), "gaussian", (0.1, 0.2, 0.3)).numpy(),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("size", "patch", "overlap"),
    [((40, 56, 33), (16, 16, 16), 0.5), ((100, 37), (32, 32), 0.25), ((16, 16), (16, 16), 0.5)],
)
def test_weight_sum_matches_the_torch_grid(
    size: tuple[int, ...], patch: tuple[int, ...], overlap: float
) -> None:
    grid = window_grid(size, patch, overlap)
    weights = importance_map(patch)
    np.testing.assert_allclose(
        weight_sum(weights, size, grid.starts), grid.weight_sum(torch.from_numpy(weights)).numpy(), rtol=1e-6
    )


def _net(dims: int) -> nn.Module:
    torch.manual_seed(0)
    conv = nn.Conv3d if dims == 3 else nn.Conv2d
    return nn.Sequential(conv(2, 4, 3, padding=1), nn.ReLU(), conv(4, 3, 3, padding=1)).eval()


def _numpy(net: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    return run


@pytest.mark.parametrize(
    ("shape", "patch", "overlap", "blend"),
    [
        ((1, 2, 23, 40, 31), (16, 16, 16), 0.5, "gaussian"),  # several windows, last ones moved back
        ((2, 2, 10, 12, 40), (16, 16, 16), 0.5, "gaussian"),  # smaller than the patch on two axes: padded
        ((1, 2, 50, 70), (32, 32), 0.25, "hann"),
        ((1, 2, 5, 40, 36), (32, 32), 0.5, "gaussian"),  # a 2D network on 3D data, slice by slice
    ],
)
def test_sliding_window_matches_torch(
    shape: tuple[int, ...], patch: tuple[int, ...], overlap: float, blend: str
) -> None:
    net = _net(len(patch))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours = sliding_window(x, _numpy(net), patch, overlap=overlap, blend=blend, window_batch_size=3)
    reference = sliding_window_inference(
        torch.from_numpy(x), net, patch, overlap=overlap, blend=blend, window_batch_size=3
    ).numpy()
    assert ours.shape == reference.shape == (shape[0], 3, *shape[2:])
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


def test_model_output_of_the_wrong_shape_is_one_line() -> None:
    with pytest.raises(ValueError, match=r"model output \(1, 3, 8, 8\) does not match the window batch"):
        sliding_window(
            np.zeros((1, 1, 16, 16), np.float32), lambda b: np.zeros((1, 3, 8, 8), np.float32), (16, 16)
        )
