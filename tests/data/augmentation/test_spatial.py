"""Rotation, scaling and elastic deformation against torch.rot90, hand-computed maps and label sets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from medseg.data.augmentation import RandomSpatialTransform, SpatialTransform
from medseg.data.augmentation.affine import rotation_matrix, sampling_grid
from medseg.data.augmentation.spatial import ImageMode, default_rotation_range


def _batch2d(b: int = 2, size: tuple[int, int] = (8, 8)) -> dict[str, torch.Tensor]:
    return {"image": torch.randn(b, 2, *size), "label": torch.randint(0, 3, (b, 1, *size))}


def test_rotation_by_90_degrees_equals_rot90_in_2d() -> None:
    batch = _batch2d()
    out = SpatialTransform(rotation=90.0, image_mode="nearest").apply(batch)
    assert torch.equal(out["image"], torch.rot90(batch["image"], 1, (2, 3)))
    assert torch.equal(out["label"], torch.rot90(batch["label"], 1, (2, 3)))
    assert out["label"].dtype == batch["label"].dtype


@pytest.mark.parametrize(("axis", "planes"), [(0, (3, 4)), (1, (4, 2)), (2, (2, 3))])
def test_rotation_by_90_degrees_about_each_axis_equals_rot90_in_3d(
    axis: int, planes: tuple[int, int]
) -> None:
    image = torch.randn(2, 1, 6, 6, 6)
    label = torch.randint(0, 4, (2, 1, 6, 6, 6))
    degrees = torch.zeros(3)
    degrees[axis] = 90.0
    out = SpatialTransform(rotation=degrees, image_mode="linear").apply({"image": image, "label": label})
    assert torch.allclose(out["image"], torch.rot90(image, 1, planes), atol=1e-5)
    assert torch.equal(out["label"], torch.rot90(label, 1, planes))


@pytest.mark.parametrize(("shape", "mode"), [((7, 9), "cubic"), ((7, 9), "linear"), ((5, 7, 6), "linear")])
def test_zero_rotation_and_unit_scale_is_identity(shape: tuple[int, ...], mode: ImageMode) -> None:
    image = torch.randn(3, 2, *shape)
    label = torch.randint(0, 3, (3, 1, *shape))
    rotation = 0.0 if len(shape) == 2 else torch.zeros(3)
    out = SpatialTransform(rotation=rotation, scale=1.0, image_mode=mode).apply(
        {"image": image, "label": label}
    )
    assert torch.allclose(out["image"], image, atol=1e-5)
    assert torch.equal(out["label"], label)


def test_scale_multiplies_sampling_coordinates_about_the_centre() -> None:
    # size 9: voxel i sits at i - 4 from the centre, so a scale of 2 on axis 0 reads row 2 i - 4.
    image = torch.arange(81.0).reshape(1, 1, 9, 9)
    out = SpatialTransform(scale=torch.tensor([[2.0, 1.0]]), image_mode="nearest").apply({"image": image})[
        "image"
    ]
    for i in range(9):
        source = 2 * i - 4
        expected = image[0, 0, source] if 0 <= source < 9 else torch.zeros(9)
        assert torch.equal(out[0, 0, i], expected)


def test_constant_displacement_shifts_by_whole_voxels() -> None:
    image = torch.randn(1, 1, 6, 7)
    label = torch.randint(1, 3, (1, 1, 6, 7))
    displacement = torch.zeros(1, 2, 6, 7)
    displacement[:, 1] = 1.0  # read one voxel further along axis 1
    out = SpatialTransform(displacement=displacement, image_mode="linear", label_fill=5).apply(
        {"image": image, "label": label}
    )
    assert torch.allclose(out["image"][..., :-1], image[..., 1:], atol=1e-5)
    assert torch.equal(out["label"][..., :-1], label[..., 1:])
    assert torch.all(out["label"][..., -1] == 5)


@pytest.mark.parametrize("label_fill", [0, 7])
def test_random_spatial_transform_never_invents_label_values(label_fill: int) -> None:
    generator = torch.Generator().manual_seed(3)
    label = torch.randint(1, 4, (4, 1, 10, 12, 11))
    label[:, :, 2:5] = 9
    image = torch.randn(4, 1, 10, 12, 11)
    transform = RandomSpatialTransform(p_rotation=1.0, p_scaling=1.0, p_elastic=1.0, label_fill=label_fill)
    out = transform.apply({"image": image, "label": label}, generator)
    assert set(out["label"].unique().tolist()) <= {1, 2, 3, 9, label_fill}
    assert not torch.equal(out["label"], label)


def test_only_samples_that_draw_a_component_are_resampled() -> None:
    batch = _batch2d(b=16)
    generator = torch.Generator().manual_seed(0)
    out = RandomSpatialTransform(p_rotation=0.5, p_scaling=0.0).apply(batch, generator)
    unchanged = [torch.equal(out["image"][i], batch["image"][i]) for i in range(16)]
    assert 0 < sum(unchanged) < 16  # seed 0 draws both kinds of sample
    # the same draws, replayed: the changed samples are exactly those whose rotation draw was true
    replay = torch.rand(16, generator=torch.Generator().manual_seed(0)) < 0.5
    assert unchanged == (~replay).tolist()


def test_cubic_interpolation_is_rejected_in_3d() -> None:
    with pytest.raises(ValueError, match="cubic"):
        SpatialTransform(rotation=torch.zeros(3), image_mode="cubic").apply(
            {"image": torch.zeros(1, 1, 4, 4, 4)}
        )


@pytest.mark.parametrize("shape", [(5, 7, 6), (9, 4)])
def test_sampling_grid_matches_torch_affine_grid(shape: tuple[int, ...]) -> None:
    dims = len(shape)
    matrix = rotation_matrix(torch.randn(3, 3 if dims == 3 else 1) * 40, dims).reshape(3, dims, dims)
    matrix = matrix * (0.5 + torch.rand(3, 1, dims))
    half = torch.tensor(shape, dtype=torch.float32) / 2
    theta = (matrix * half[None, None, :] / half[None, :, None]).flip(1).flip(2)
    theta = torch.cat([theta, torch.zeros(3, dims, 1)], dim=2)
    reference = F.affine_grid(theta, [3, 1, *shape], align_corners=False)
    assert torch.allclose(sampling_grid(matrix, shape), reference, atol=1e-6)


def test_default_rotation_range_follows_nnunet() -> None:
    assert default_rotation_range((64, 64, 64)) == (-30.0, 30.0)
    assert default_rotation_range((256, 256)) == (-180.0, 180.0)
    assert default_rotation_range((512, 256)) == (-15.0, 15.0)
    twin = RandomSpatialTransform(p_rotation=1.0).sample(
        {"image": torch.zeros(64, 1, 40, 20)}, torch.Generator().manual_seed(0)
    )
    assert isinstance(twin, SpatialTransform)
    angles = torch.as_tensor(twin.rotation)
    assert angles.abs().max() <= 15.0 and angles.abs().max() > 10.0
