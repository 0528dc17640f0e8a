"""Distance maps (vs scipy and brute force) and the boundary, Hausdorff-DT and surface losses.

References: scipy's ``distance_transform_edt(sampling=spacing)`` and numpy for the maps and the
boundary / surface terms (MONAI has no such spacing-aware maps), MONAI's ``HausdorffDTLoss`` for the
Hausdorff term (unnormalised, unit spacing, where the definitions coincide) and MONAI's DiceLoss for
the region term.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch
from monai.losses import DiceCELoss as MonaiDiceCE
from monai.losses import DiceLoss as MonaiDice
from monai.losses import HausdorffDTLoss as MonaiHausdorff
from scipy.ndimage import distance_transform_edt

from medseg.losses import DeepSupervisionWrapper, build_loss, signed_distance_map
from medseg.losses.deep_supervision import downsample_target

ANISO = (2.5, 1.0, 0.7)
SMOOTH = {"smooth_nr": 1e-5, "smooth_dr": 1e-5}


def reference_sdm(mask: np.ndarray, spacing: Sequence[float], normalize: bool) -> np.ndarray:
    """Outside: + distance to the nearest inside voxel; inside: - distance to the nearest outside one."""
    if not mask.any() or mask.all():
        diagonal = float(np.sqrt(sum((n * s) ** 2 for n, s in zip(mask.shape, spacing))))
        value = 1.0 if normalize else diagonal
        return np.full(mask.shape, value if not mask.any() else -value)
    outside = distance_transform_edt(~mask, sampling=spacing)
    inside = distance_transform_edt(mask, sampling=spacing)
    if normalize:
        outside, inside = outside / outside.max(), inside / inside.max()
    return outside - inside


def reference_maps(masks: np.ndarray, spacing: Sequence[float], normalize: bool) -> np.ndarray:
    return np.stack([np.stack([reference_sdm(m, spacing, normalize) for m in sample]) for sample in masks])


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _fg_masks(labels: torch.Tensor, classes: int) -> np.ndarray:
    return np.stack([(labels[:, 0].numpy() == c) for c in range(1, classes)], 1)


def _build(
    name: str, channels: int, activation: str, spacing: Sequence[float], **params: object
) -> torch.nn.Module:
    return build_loss(name, out_channels=channels, activation=activation, spacing=spacing, params=params)


# ---------------------------------------------------------------------------------------- maps
def test_map_matches_brute_force_distances_anisotropic() -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((5, 6, 4)) > 0.6
    spacing = (2.0, 1.0, 0.5)
    sdm = signed_distance_map(mask, spacing, normalize=False)
    coords = np.array(list(itertools.product(*[range(n) for n in mask.shape]))) * np.array(spacing)
    flat = mask.ravel()
    for i, point in enumerate(coords):
        other = coords[flat != flat[i]]
        nearest = np.sqrt(((other - point) ** 2).sum(1)).min()
        assert abs(sdm.ravel()[i] - (-nearest if flat[i] else nearest)) <= 1e-5


def test_map_matches_scipy_on_real_3d_label_with_anisotropic_spacing(hippo_labels: torch.Tensor) -> None:
    mask = hippo_labels[0, 0].numpy() == 1
    for normalize in (True, False):
        ours = signed_distance_map(mask, ANISO, normalize)
        assert ours.dtype == np.float32
        assert np.abs(ours - reference_sdm(mask, ANISO, normalize)).max() <= 1e-5
    iso = signed_distance_map(mask, (1.0, 1.0, 1.0), normalize=True)
    assert np.abs(iso - signed_distance_map(mask, ANISO, normalize=True)).max() > 0.1


def test_map_2d_normalisation_range_and_scale(drive_masks: torch.Tensor) -> None:
    mask = drive_masks[0, 0].numpy() > 0
    normal = signed_distance_map(mask, (1.0, 1.0))
    assert normal.min() == -1.0 and normal.max() == 1.0
    assert np.all(normal[mask] < 0) and np.all(normal[~mask] > 0)
    # Normalised maps do not see an isotropic scale of the spacing; raw maps scale with it.
    assert np.abs(signed_distance_map(mask, (3.0, 3.0)) - normal).max() <= 1e-6
    raw = signed_distance_map(mask, (1.0, 1.0), normalize=False)
    assert np.abs(signed_distance_map(mask, (3.0, 3.0), normalize=False) - 3 * raw).max() <= 1e-4
    assert (
        np.abs(
            signed_distance_map(mask, (3.0, 1.0), normalize=False) - reference_sdm(mask, (3.0, 1.0), False)
        ).max()
        <= 1e-4
    )


def test_map_of_empty_and_full_masks() -> None:
    empty = np.zeros((4, 6), bool)
    assert np.all(signed_distance_map(empty, (1.0, 1.0)) == 1.0)
    assert np.allclose(signed_distance_map(empty, (2.0, 1.0), normalize=False), np.hypot(8.0, 6.0))
    assert np.all(signed_distance_map(~empty, (1.0, 1.0)) == -1.0)
    with pytest.raises(ValueError, match="spacing must hold 2 positive values"):
        signed_distance_map(empty, (1.0, 1.0, 1.0))


# ---------------------------------------------------------------------------------------- boundary
@pytest.mark.parametrize("normalize", [True, False])
def test_boundary_softmax_3d_anisotropic_matches_numpy(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor], normalize: bool
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    loss = _build("boundary", 3, "softmax", ANISO, normalize_dtm=normalize)
    value = float(loss(logits, hippo_labels))
    phi = reference_maps(_fg_masks(hippo_labels, 3), ANISO, normalize)
    term = float((phi * _softmax(logits.numpy().astype(np.float64))[:, 1:]).mean())
    dice = float(
        MonaiDice(softmax=True, to_onehot_y=True, include_background=False, batch=True, **SMOOTH)(
            logits, hippo_labels
        )
    )
    assert abs(loss.last_components["boundary"] - term) <= 1e-5
    assert abs(value - (0.5 * dice + 0.5 * term)) <= 1e-5
    iso = _build("boundary", 3, "softmax", (1.0, 1.0, 1.0), normalize_dtm=normalize)
    iso(logits, hippo_labels)
    assert abs(iso.last_components["boundary"] - term) > 1e-4  # the spacing changes the term


def test_boundary_sigmoid_2d_matches_numpy(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 1, "sigmoid")
    target = drive_masks.float()
    loss = _build("boundary", 1, "sigmoid", (1.0, 1.0))
    loss(logits, target)
    phi = reference_maps(drive_masks.numpy() > 0, (1.0, 1.0), True)
    probs = 1 / (1 + np.exp(-logits.numpy().astype(np.float64)))
    assert abs(loss.last_components["boundary"] - float((phi * probs).mean())) <= 1e-5
    # A perfect prediction scores the lowest possible term: minus the mean inside distance.
    perfect = target * 40 - 20
    loss(perfect, target)
    assert abs(loss.last_components["boundary"] - float(np.where(phi < 0, phi, 0).mean())) <= 1e-5


# ---------------------------------------------------------------------------------------- hausdorff
def test_hausdorff_softmax_3d_matches_monai(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    probs = torch.softmax(logits, 1)
    for c in (1, 2):  # MONAI's field is 0 for masks without a boundary; ours is not, so avoid them here
        for b in range(2):
            pred = probs[b, c] > 0.5
            assert pred.any() and not pred.all()
    loss = _build("hausdorff_dt", 3, "softmax", (1.0, 1.0, 1.0), normalize_dtm=False)
    value = float(loss(logits, hippo_labels))
    ref = MonaiHausdorff(alpha=2.0, include_background=False, softmax=True, to_onehot_y=True)(
        logits, hippo_labels
    )
    dice = MonaiDice(softmax=True, to_onehot_y=True, include_background=False, batch=True, **SMOOTH)(
        logits, hippo_labels
    )
    assert abs(loss.last_components["hausdorff"] - float(ref)) <= 1e-5
    assert abs(value - float(0.5 * dice + 0.5 * ref)) <= 1e-5


def test_hausdorff_sigmoid_2d_matches_monai(
    drive_masks: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(drive_masks, 1, "sigmoid")
    target = drive_masks.float()
    loss = _build("hausdorff_dt", 1, "sigmoid", (1.0, 1.0), normalize_dtm=False, exponent=1.0)
    loss(logits, target)
    ref = MonaiHausdorff(alpha=1.0, sigmoid=True, include_background=True)(logits, target)
    assert abs(loss.last_components["hausdorff"] - float(ref)) <= 1e-5


def test_hausdorff_normalised_anisotropic_matches_numpy(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax", seed=3)
    loss = _build("hausdorff_dt", 3, "softmax", ANISO)
    loss(logits, hippo_labels)
    p = _softmax(logits.numpy().astype(np.float64))[:, 1:]
    truth = _fg_masks(hippo_labels, 3)
    d_t = np.abs(reference_maps(truth, ANISO, True))
    d_p = np.abs(reference_maps(p > 0.5, ANISO, True))
    expected = ((p - truth) ** 2 * (d_t**2 + d_p**2)).mean()
    assert abs(loss.last_components["hausdorff"] - expected) <= 1e-5


# ---------------------------------------------------------------------------------------- surface
def test_gsl_softmax_3d_matches_numpy_with_dice_ce_region(
    hippo_labels: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    logits = make_logits(hippo_labels, 3, "softmax")
    loss = _build("gsl", 3, "softmax", ANISO)
    value = float(loss(logits, hippo_labels))
    phi = reference_maps(_fg_masks(hippo_labels, 3), ANISO, True)
    p = _softmax(logits.numpy().astype(np.float64))[:, 1:]
    t = _fg_masks(hippo_labels, 3).astype(np.float64)
    axes = (2, 3, 4)
    term = (1 - ((phi * (1 - t - p)) ** 2).sum(axes) / (phi**2).sum(axes)).mean()
    region = MonaiDiceCE(softmax=True, to_onehot_y=True, include_background=False, batch=True, **SMOOTH)(
        logits, hippo_labels
    )
    assert abs(loss.last_components["surface"] - term) <= 1e-5
    assert abs(value - (0.5 * float(region) + 0.5 * term)) <= 1e-5


def test_gsl_is_zero_for_a_perfect_and_one_for_the_inverse_prediction(hippo_regions: torch.Tensor) -> None:
    loss = _build("gsl", 2, "sigmoid", ANISO)
    loss(hippo_regions * 60 - 30, hippo_regions)
    assert abs(loss.last_components["surface"]) <= 1e-5
    loss(30 - hippo_regions * 60, hippo_regions)
    assert abs(loss.last_components["surface"] - 1.0) <= 1e-5


# ---------------------------------------------------------------------------------------- deep supervision
@pytest.mark.parametrize("name", ["boundary", "hausdorff_dt", "gsl"])
def test_deep_supervision_computes_maps_at_each_resolution_with_scaled_spacing(
    name: str, hippo_regions: torch.Tensor, make_logits: Callable[..., torch.Tensor]
) -> None:
    # Pooling only some axes at first, as a U-Net does on anisotropic data: the spacing of each
    # output is the full spacing times its own factor per axis.
    full = make_logits(hippo_regions, 2, "sigmoid")
    half = torch.nn.functional.avg_pool3d(full, (1, 2, 2))
    quarter = torch.nn.functional.avg_pool3d(full, (2, 4, 4))
    loss = _build(name, 2, "sigmoid", ANISO, normalize_dtm=False)
    wrapped = DeepSupervisionWrapper(loss, weights=[0.5, 0.3, 0.2])
    value = float(wrapped([full, half, quarter], hippo_regions))
    reported = dict(wrapped.last_components)
    small = downsample_target(hippo_regions, half.shape[2:])
    assert small.dtype == torch.float32 and small.shape == (2, 2, 16, 10, 8)
    assert set(torch.unique(small).tolist()) == {0.0, 1.0}
    assert torch.equal(small, hippo_regions[:, :, :, 1::2, 1::2])  # nearest-exact takes the centre
    tiny = downsample_target(hippo_regions, quarter.shape[2:])
    half_spacing = (ANISO[0], 2 * ANISO[1], 2 * ANISO[2])
    quarter_spacing = (2 * ANISO[0], 4 * ANISO[1], 4 * ANISO[2])
    expected = (
        0.5 * float(loss(full, hippo_regions))
        + 0.3 * float(loss(half, small, spacing=half_spacing))
        + 0.2 * float(loss(quarter, tiny, spacing=quarter_spacing))
    )
    assert abs(value - expected) <= 1e-5
    loss(full, hippo_regions)
    assert reported == pytest.approx(loss.last_components)  # the components at full resolution
    unscaled = (
        0.5 * float(loss(full, hippo_regions))
        + 0.3 * float(loss(half, small))
        + 0.2 * float(loss(quarter, tiny))
    )
    assert abs(value - unscaled) > 1e-4
