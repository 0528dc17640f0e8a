"""Intensity transforms against scipy, NumPy hand computations and statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from medseg.data.augmentation import (
    BiasField,
    Brightness,
    Contrast,
    Gamma,
    GaussianBlur,
    GaussianNoise,
    LowResolution,
    RandomGaussianBlur,
    RandomGaussianNoise,
)


def test_brightness_multiplies_per_sample_and_channel() -> None:
    image = torch.randn(2, 3, 4, 5)
    factor = torch.tensor([[0.5, 1.0, 2.0], [1.5, 0.8, 1.1]])
    out = Brightness(factor).apply({"image": image})["image"]
    assert torch.allclose(out, image * factor[:, :, None, None])


def test_contrast_matches_numpy_with_and_without_range_preservation() -> None:
    image = torch.randn(2, 2, 5, 6, 4)
    factor = torch.tensor([[1.25, 0.75], [1.1, 0.9]])
    for preserve in (True, False):
        out = Contrast(factor, preserve_range=preserve).apply({"image": image})["image"].numpy()
        for b in range(2):
            for c in range(2):
                x = image[b, c].double().numpy()
                ref = (x - x.mean()) * float(factor[b, c]) + x.mean()
                if preserve:
                    ref = np.clip(ref, x.min(), x.max())
                np.testing.assert_allclose(out[b, c], ref, atol=1e-5)


def test_gamma_of_one_is_identity() -> None:
    image = torch.randn(2, 2, 6, 7)
    for invert in (False, True):
        out = Gamma(1.0, invert=invert).apply({"image": image})["image"]
        assert torch.allclose(out, image, atol=1e-5)


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("retain_stats", [False, True])
def test_gamma_matches_numpy_reference(invert: bool, retain_stats: bool) -> None:
    image = torch.rand(1, 2, 5, 6, 7) * 3 - 1
    gamma = torch.tensor([[0.7, 1.5]])
    out = Gamma(gamma, invert=invert, retain_stats=retain_stats).apply({"image": image})["image"].numpy()
    for c in range(2):
        x = image[0, c].double().numpy()
        y = -x if invert else x
        low, span = y.min(), y.max() - y.min()
        z = ((y - low) / span) ** float(gamma[0, c]) * span + low
        if retain_stats:
            z = (z - z.mean()) / z.std(ddof=1) * y.std(ddof=1) + y.mean()
            np.testing.assert_allclose(
                [out[0, c].mean(), out[0, c].std(ddof=1)], [x.mean(), x.std(ddof=1)], atol=1e-4
            )
        np.testing.assert_allclose(out[0, c], -z if invert else z, atol=1e-4)


def test_gamma_of_a_constant_channel_keeps_it_constant() -> None:
    image = torch.full((1, 1, 4, 4), 2.5)
    for invert in (False, True):
        assert torch.allclose(Gamma(0.7, invert=invert).apply({"image": image})["image"], image)


def test_noise_has_the_requested_standard_deviation() -> None:
    image = torch.zeros(2, 1, 64, 64)
    std = torch.tensor([0.5, 0.05])
    out = GaussianNoise(std).apply({"image": image}, torch.Generator().manual_seed(1))["image"]
    n = 64 * 64
    for b in range(2):
        sigma = float(std[b])
        # 5 standard errors: se(mean) = sigma/sqrt(n), se(std) ~ sigma/sqrt(2n)
        assert abs(float(out[b].mean())) < 5 * sigma / math.sqrt(n)
        assert abs(float(out[b].std()) - sigma) < 5 * sigma / math.sqrt(2 * n)


def test_random_noise_uses_one_std_per_sample_for_all_channels_within_range() -> None:
    image = torch.zeros(6, 2, 48, 48)
    out = RandomGaussianNoise(p=1.0, std_range=(0.2, 0.4)).apply(
        {"image": image}, torch.Generator().manual_seed(2)
    )
    stds = out["image"].flatten(2).std(dim=2)
    assert torch.all((stds > 0.18) & (stds < 0.42))
    assert torch.allclose(stds[:, 0], stds[:, 1], rtol=0.1)


def test_blur_matches_scipy_gaussian_filter_per_sample_channel_and_axis() -> None:
    image = torch.randn(2, 2, 9, 11, 10)
    sigma = torch.tensor([[[0.5, 1.0, 0.7], [0.0, 0.9, 2.0]], [[1.3, 0.6, 0.5], [0.8, 0.8, 0.8]]])
    out = GaussianBlur(sigma).apply({"image": image})["image"].numpy()
    for b in range(2):
        for c in range(2):
            ref = ndi.gaussian_filter(
                image[b, c].double().numpy(), sigma[b, c].double().numpy(), mode="mirror", truncate=4.0
            )
            np.testing.assert_allclose(out[b, c], ref, atol=1e-4)


def test_random_blur_leaves_unselected_channels_untouched() -> None:
    image = torch.randn(8, 2, 12, 12)
    out = RandomGaussianBlur(p=1.0, p_per_channel=0.5).apply(
        {"image": image}, torch.Generator().manual_seed(4)
    )
    same = [(torch.equal(out["image"][b, c], image[b, c])) for b in range(8) for c in range(2)]
    assert 0 < sum(same) < 16


def test_low_resolution_matches_scipy_zoom_and_zoom_one_is_identity() -> None:
    base = torch.randn(4, 4, 4, dtype=torch.float64)
    blocky = base.repeat_interleave(2, 0).repeat_interleave(2, 1).repeat_interleave(2, 2)
    image = torch.stack([blocky, blocky])[None].float()  # (1, 2, 8, 8, 8)
    out = LowResolution(torch.tensor([[0.5, 1.0]])).apply({"image": image})["image"]
    ref = ndi.zoom(base.numpy(), 2, order=1, grid_mode=True, mode="nearest")
    np.testing.assert_allclose(out[0, 0].numpy(), ref, atol=1e-5)
    assert torch.equal(out[0, 1], image[0, 1])


def test_low_resolution_keeps_ignored_axes_at_full_resolution() -> None:
    base = torch.randn(3, 4, 4, dtype=torch.float64)
    image = base.repeat_interleave(2, 1).repeat_interleave(2, 2)[None, None].float()  # (1, 1, 3, 8, 8)
    out = LowResolution(0.5, ignore_axes=(0,)).apply({"image": image})["image"]
    for z in range(3):
        ref = ndi.zoom(base[z].numpy(), 2, order=1, grid_mode=True, mode="nearest")
        np.testing.assert_allclose(out[0, 0, z].numpy(), ref, atol=1e-5)


def test_bias_field_matches_hand_computed_linear_field() -> None:
    image = torch.ones(2, 1, 4, 6)
    coefficients = torch.tensor([[0.1, 0.3, -0.2], [0.0, 0.0, 0.0]])  # constant, axis 0, axis 1
    out = BiasField(coefficients, order=1).apply({"image": image})["image"]
    x0 = (2 * np.arange(4) + 1) / 4 - 1
    x1 = (2 * np.arange(6) + 1) / 6 - 1
    ref = np.exp(0.1 + 0.3 * x0[:, None] - 0.2 * x1[None, :])
    np.testing.assert_allclose(out[0, 0].numpy(), ref, rtol=1e-6)
    assert torch.equal(out[1], image[1])
