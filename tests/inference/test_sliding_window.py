"""Sliding-window inference against MONAI's implementation and hand-checkable cases."""

from __future__ import annotations

import pytest
import torch
from monai.data.utils import compute_importance_map, dense_patch_slices
from monai.inferers import sliding_window_inference as monai_sliding_window
from monai.inferers.utils import _get_scan_interval
from torch import nn

from medseg.inference.importance import importance_map
from medseg.inference.sliding_window import sliding_window_inference
from medseg.inference.windows import window_grid


def _conv_net(ndim: int, in_channels: int = 1, out_channels: int = 3) -> nn.Module:
    conv = nn.Conv3d if ndim == 3 else nn.Conv2d
    return nn.Sequential(
        conv(in_channels, 4, 3, padding=1), nn.ReLU(), conv(4, out_channels, 3, padding=1)
    ).eval()


def _monai(
    x: torch.Tensor,
    net: nn.Module,
    patch: tuple[int, ...],
    overlap: float | tuple[float, ...],
    batch: int = 3,
    mode: str = "gaussian",
) -> torch.Tensor:
    with torch.no_grad():
        out = monai_sliding_window(x, patch, batch, net, overlap=overlap, mode=mode, sigma_scale=0.125)
    assert isinstance(out, torch.Tensor)
    return out


@pytest.mark.parametrize("size", [(5,), (8, 9), (16, 7, 12)])
def test_gaussian_map_equals_monai(size: tuple[int, ...]) -> None:
    expected = compute_importance_map(size, mode="gaussian", sigma_scale=0.125)
    torch.testing.assert_close(importance_map(size, "gaussian", 0.125), expected, rtol=0, atol=1e-7)
    ones = compute_importance_map(size, mode="constant")
    torch.testing.assert_close(importance_map(size, "constant"), ones, rtol=0, atol=0)


def test_hann_map_is_positive_and_peaks_in_the_middle() -> None:
    weights = importance_map((9, 7), "hann")
    assert float(weights.min()) > 0
    assert tuple(int(i) for i in torch.nonzero(weights == weights.max())[0]) == (4, 3)


@pytest.mark.parametrize(
    ("image", "patch", "overlap"),
    [
        ((37, 41, 29), (16, 16, 16), 0.5),
        ((50, 47), (20, 17), (0.25, 0.6)),
        ((16, 30), (16, 8), 0.0),
        ((100,), (33,), 0.9),
    ],
)
def test_window_positions_equal_monai(
    image: tuple[int, ...], patch: tuple[int, ...], overlap: float | tuple[float, ...]
) -> None:
    fractions = (overlap,) * len(image) if isinstance(overlap, float) else overlap
    interval = _get_scan_interval(image, patch, len(image), fractions)
    expected = dense_patch_slices(image, patch, interval)
    assert window_grid(image, patch, overlap).slices() == expected


def test_weight_sum_equals_window_by_window_sum() -> None:
    grid = window_grid((23, 19, 30), (8, 8, 12), (0.5, 0.3, 0.6))
    weights = importance_map((8, 8, 12))
    expected = torch.zeros(23, 19, 30)
    for window in grid.slices():
        expected[window] += weights
    torch.testing.assert_close(grid.weight_sum(weights), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "patch", "overlap"),
    [
        ((2, 2, 37, 41, 29), (16, 16, 16), 0.5),  # 3-D, batch of 2, sizes not divisible by the step
        ((1, 1, 33, 35, 30), (16, 20, 12), 0.5),  # anisotropic patch
        ((1, 1, 50, 47), (20, 17), (0.25, 0.6)),  # 2-D with per-axis overlap
        ((1, 1, 10, 12, 9), (16, 16, 16), 0.5),  # image smaller than the patch on every axis
        ((1, 1, 10, 40), (16, 16), 0.5),
    ],  # smaller on one axis only
)
def test_matches_monai_gaussian(
    shape: tuple[int, ...], patch: tuple[int, ...], overlap: float | tuple[float, ...]
) -> None:
    net = _conv_net(len(patch), in_channels=shape[1])
    x = torch.randn(shape)
    ours = sliding_window_inference(x, net, patch, overlap=overlap, window_batch_size=3)
    expected = _monai(x, net, patch, overlap)
    assert ours.shape == expected.shape == (shape[0], 3, *shape[2:])
    assert float((ours - expected).abs().max()) <= 1e-5


def test_channels_last_matches_monai_and_leaves_the_module_alone() -> None:
    net = _conv_net(3)
    x = torch.randn(1, 1, 20, 24, 18)
    ours = sliding_window_inference(x, net, (12, 12, 12), channels_last=True)
    assert float((ours - _monai(x, net, (12, 12, 12), 0.5)).abs().max()) <= 1e-5
    assert all(p.is_contiguous() for p in net.parameters())


def test_constant_blend_of_identity_returns_input_exactly() -> None:
    # Integer-valued floats: every window sum is exact, so sum / count must give back x bit for bit.
    x = torch.randint(-1000, 1000, (2, 3, 21, 17, 13)).float()
    out = sliding_window_inference(x, lambda t: t, (8, 8, 8), overlap=0.6, blend="constant")
    assert torch.equal(out, x)
    noise = torch.randn(1, 1, 19, 23)
    back = sliding_window_inference(noise, lambda t: t, (8, 8), overlap=(0.3, 0.7), blend="constant")
    torch.testing.assert_close(back, noise, rtol=1e-6, atol=1e-7)


def test_gaussian_blend_of_identity_returns_input() -> None:
    x = torch.randn(1, 2, 30, 25)
    out = sliding_window_inference(x, lambda t: t.clone(), (12, 10), overlap=0.5, blend="hann")
    torch.testing.assert_close(out, x, rtol=1e-6, atol=1e-6)


def test_small_image_is_padded_with_pad_value_and_cropped_back() -> None:
    x = torch.ones(1, 1, 4, 6)
    seen: list[torch.Tensor] = []

    def record(t: torch.Tensor) -> torch.Tensor:
        seen.append(t.clone())
        return t

    out = sliding_window_inference(x, record, (8, 8), pad_value=-5.0, blend="constant")
    assert torch.equal(out, x)
    window = seen[0][0, 0]
    assert torch.equal(window[2:6, 1:7], torch.ones(4, 6))  # centred like MONAI
    assert float(window[0, 0]) == -5.0 and int((window == -5.0).sum()) == 64 - 24


def test_deep_supervision_uses_first_output() -> None:
    net = _conv_net(2)

    def deep(t: torch.Tensor) -> list[torch.Tensor]:
        full = net(t)
        return [full, full[:, :, ::2, ::2]]

    x = torch.randn(1, 1, 30, 26)
    torch.testing.assert_close(
        sliding_window_inference(x, deep, (16, 16)),
        sliding_window_inference(x, net, (16, 16)),
        rtol=0,
        atol=0,
    )


def test_progress_bar_runs_and_matches() -> None:
    x = torch.randn(1, 1, 20, 20)
    net = _conv_net(2)
    torch.testing.assert_close(
        sliding_window_inference(x, net, (8, 8), progress=True),
        sliding_window_inference(x, net, (8, 8)),
        rtol=0,
        atol=0,
    )


def test_half_precision_accumulation_is_close_to_float32() -> None:
    x = torch.randn(1, 1, 24, 20, 22)
    net = _conv_net(3)
    half = sliding_window_inference(x, net, (12, 12, 12), half_precision_accumulation=True)
    assert half.dtype == torch.float16
    full = sliding_window_inference(x, net, (12, 12, 12))
    torch.testing.assert_close(half.float(), full, rtol=1e-2, atol=2e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"overlap": 1.0}, "overlap"),
        ({"patch_size": (8,)}, "patch_size"),
        ({"blend": "box"}, "blend mode"),
        ({"window_batch_size": 0}, "window_batch_size"),
        ({"padding_mode": "wrap"}, "padding_mode"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"patch_size": (8, 8, 8)} | kwargs
    with pytest.raises(ValueError, match=message):
        sliding_window_inference(torch.zeros(1, 1, 9, 9, 9), lambda t: t, **arguments)  # type: ignore[arg-type]


def test_wrong_output_shape_is_reported() -> None:
    with pytest.raises(ValueError, match="does not match"):
        sliding_window_inference(torch.zeros(1, 1, 9, 9), lambda t: t[:, :, ::2], (8, 8))


def test_channels_last_copy_swaps_instance_norms_for_equal_group_norms() -> None:
    from medseg.inference.fast_layout import channels_last_copy, instance_norm_as_group_norm

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(1, 4, 3, padding=1),
        torch.nn.InstanceNorm3d(4, affine=True),
        torch.nn.LeakyReLU(0.01),
        torch.nn.Conv3d(4, 2, 1),
        torch.nn.InstanceNorm3d(2),
    )
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-1.0, 1.0)
    fast = channels_last_copy(net, 3)
    assert [type(m).__name__ for m in fast] == ["Conv3d", "GroupNorm", "LeakyReLU", "Conv3d", "GroupNorm"]
    assert isinstance(net[1], torch.nn.InstanceNorm3d)  # the original is left alone
    assert fast[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    x = torch.randn(2, 1, 10, 12, 8)
    with torch.no_grad():
        expected = torch.nn.functional.instance_norm(net[:4](x).double(), eps=1e-5)  # float64 reference
        got = fast(x.contiguous(memory_format=torch.channels_last_3d))
    assert float((got.double() - expected).abs().max()) < 1e-4
    double = channels_last_copy(net.double(), 3)  # the group norms take the weights' dtype
    assert double[1].weight.dtype == torch.float64
    assert double(x.double().contiguous(memory_format=torch.channels_last_3d)).dtype == torch.float64
    with pytest.raises(ValueError, match="running statistics"):
        instance_norm_as_group_norm(torch.nn.InstanceNorm3d(4, track_running_stats=True))
    with pytest.raises(ValueError, match="not 1-D"):
        channels_last_copy(net, 1)


def test_a_2d_patch_on_3d_inputs_predicts_every_slice_on_its_own() -> None:
    torch.manual_seed(1)
    net = _conv_net(2)
    x = torch.randn(2, 1, 5, 20, 17)
    out = sliding_window_inference(x, net, (12, 12), overlap=0.25)
    assert out.shape == (2, 3, 5, 20, 17)
    for b in range(2):
        for z in range(5):
            one = sliding_window_inference(x[b : b + 1, :, z], net, (12, 12), overlap=0.25)
            torch.testing.assert_close(out[b : b + 1, :, z], one)
