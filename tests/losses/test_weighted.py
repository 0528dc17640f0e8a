"""Class weights, weighted CE (numpy reference) and weighted / generalized Dice (MONAI + numpy)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from monai.losses import GeneralizedDiceLoss as MonaiGDL

from medseg.core.errors import ConfigError
from medseg.losses import build_loss, inverse_frequency_weights


def _build(
    name: str,
    channels: int,
    activation: str,
    dims: int,
    frequencies: list[float] | None = None,
    **params: object,
) -> torch.nn.Module:
    return build_loss(
        name,
        out_channels=channels,
        activation=activation,
        spacing=(1.0,) * dims,
        class_frequencies=frequencies,
        params=params,
    )


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_inverse_frequency_rule_is_normalised_to_mean_one() -> None:
    weights = inverse_frequency_weights([0.9, 0.08, 0.02])
    raw = [1 / 0.9, 1 / 0.08, 1 / 0.02]
    assert weights == pytest.approx([r / (sum(raw) / 3) for r in raw])
    assert sum(weights) / 3 == pytest.approx(1.0)
    assert inverse_frequency_weights([0.25] * 4) == pytest.approx([1.0] * 4)


def test_inverse_frequency_refuses_an_absent_class() -> None:
    with pytest.raises(ConfigError) as err:
        inverse_frequency_weights([0.99, 0.01, 0.0])
    assert str(err.value) == (
        "training.loss_params.class_weights: class 2 has frequency 0 in the training data, "
        "so its inverse-frequency weight is undefined; give class_weights explicitly"
    )


def test_weighted_ce_softmax_3d_matches_numpy(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    frequencies = [0.8, 0.15, 0.05]
    loss = _build("ce_weighted", 3, "softmax", 3, frequencies)
    value = float(loss(logits, hippo_labels))
    # Reference: weights 1/f scaled to mean 1; weighted mean of -log p(true class).
    inv = 1 / np.array(frequencies)
    w = inv / inv.mean()
    labels = hippo_labels[:, 0].numpy()
    logp = np.log(_softmax(logits.numpy().astype(np.float64)))
    picked = np.take_along_axis(logp, labels[:, None], 1)[:, 0]
    expected = (w[labels] * -picked).sum() / w[labels].sum()
    assert abs(value - expected) <= 1e-5
    assert abs(value - float(torch.nn.functional.cross_entropy(logits, hippo_labels[:, 0]))) > 1e-3


def test_weighted_ce_explicit_weights_2d(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 2, "softmax")
    loss = _build("ce_weighted", 2, "softmax", 2, class_weights=[1.0, 4.0])
    expected = torch.nn.functional.cross_entropy(logits, drive_masks[:, 0], weight=torch.tensor([1.0, 4.0]))
    assert abs(float(loss(logits, drive_masks)) - float(expected)) <= 1e-6


def test_weighted_ce_sigmoid_regions_matches_numpy(
    hippo_regions: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_regions, 2, "sigmoid")
    frequencies = [0.1, 0.04]
    value = float(_build("ce_weighted", 2, "sigmoid", 3, frequencies)(logits, hippo_regions))
    x = logits.numpy().astype(np.float64)
    t = hippo_regions.numpy()
    bce = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    f = np.array(frequencies).reshape(1, 2, 1, 1, 1)
    weight = np.where(t > 0, (1 - f) / f, 1.0)  # inside voxels count (1 - f) / f times an outside voxel
    assert abs(value - (weight * bce).sum() / weight.sum()) <= 1e-5
    explicit = _build("ce_weighted", 2, "sigmoid", 3, class_weights=[9.0, 24.0])(logits, hippo_regions)
    assert abs(float(explicit) - value) <= 1e-5  # (1 - 0.1) / 0.1 = 9, (1 - 0.04) / 0.04 = 24


def test_weighted_losses_need_weights_or_frequencies() -> None:
    with pytest.raises(ConfigError) as err:
        _build("ce_weighted", 3, "softmax", 3)
    assert str(err.value) == (
        "training.loss_params.class_weights: loss 'ce_weighted' needs the class frequencies "
        "of the training data or explicit class_weights; none given"
    )
    with pytest.raises(ConfigError) as err:
        _build("dice_weighted", 3, "softmax", 3, class_weights=[1.0, 2.0])
    assert str(err.value) == (
        "training.loss_params.class_weights: expected 3 values (one per output channel), got 2"
    )


@pytest.mark.parametrize("weight_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("batch_dice", [True, False])
def test_generalized_dice_batch_weights_match_monai(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor], weight_type: str, batch_dice: bool
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    ours = _build(
        "dice_weighted", 3, "softmax", 3, weight_type=weight_type, smooth=0.0, batch_dice=batch_dice
    )
    # smooth 0 on both sides: ours scales the weights to sum 1 first, which then changes nothing.
    ref = MonaiGDL(
        w_type=weight_type,
        softmax=True,
        to_onehot_y=True,
        include_background=False,
        batch=batch_dice,
        smooth_nr=0.0,
        smooth_dr=0.0,
    )
    assert abs(float(ours(logits, hippo_labels)) - float(ref(logits, hippo_labels))) <= 1e-5


def test_generalized_dice_sigmoid_2d_matches_monai(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 1, "sigmoid")
    target = drive_masks.float()
    ours = _build("dice_weighted", 1, "sigmoid", 2, weight_type="square", smooth=0.0)(logits, target)
    ref = MonaiGDL(w_type="square", sigmoid=True, batch=True, smooth_nr=0.0, smooth_dr=0.0)(logits, target)
    assert abs(float(ours) - float(ref)) <= 1e-5


def test_generalized_dice_frequency_weights_match_numpy(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax", seed=2)
    frequencies = [0.9, 0.07, 0.03]
    value = float(_build("dice_weighted", 3, "softmax", 3, frequencies, smooth=1e-5)(logits, hippo_labels))
    p = _softmax(logits.numpy().astype(np.float64))[:, 1:]
    t = np.stack([(hippo_labels[:, 0].numpy() == c) for c in (1, 2)], 1).astype(np.float64)
    inv = 1 / np.array(frequencies)
    w = (inv / inv.mean())[1:]
    w = w / w.sum()
    axes = (0, 2, 3, 4)
    numerator = 2 * (w * (p * t).sum(axes)).sum() + 1e-5
    denominator = (w * (p.sum(axes) + t.sum(axes))).sum() + 1e-5
    assert abs(value - (1 - numerator / denominator)) <= 1e-5
    plain = float(_build("dice_weighted", 3, "softmax", 3, weight_type="uniform")(logits, hippo_labels))
    assert abs(value - plain) > 1e-4  # the weights matter
