"""Random transforms as a whole: subsets, determinism, call forms, and the configured pipeline."""

from __future__ import annotations

import json

import pytest
import torch

from medseg.core.errors import ConfigError
from medseg.data.augmentation import (
    AugmentationConfig,
    Brightness,
    RandomBrightness,
    RandomContrast,
    RandomGamma,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomLowResolution,
    RandomMirror,
    RandomSpatialTransform,
    build_augmentation,
    default_augmentation_config,
)


def _batch(dims: int = 3, b: int = 4) -> dict[str, torch.Tensor]:
    shape = (10, 12, 9)[:dims] if dims == 3 else (12, 10)
    image = torch.randn(b, 2, *shape)
    return {"image": image, "label": (image[:, :1] > 0.5).long() + (image[:, 1:] > 1).long()}


def test_random_transform_changes_exactly_the_samples_whose_draw_is_true() -> None:
    batch = _batch(b=32)
    out = RandomBrightness(p=0.3).apply(batch, torch.Generator().manual_seed(7))
    drawn = torch.rand(32, generator=torch.Generator().manual_seed(7)) < 0.3
    changed = torch.tensor([not torch.equal(out["image"][i], batch["image"][i]) for i in range(32)])
    assert torch.equal(changed, drawn)
    assert torch.equal(out["label"], batch["label"])


def test_random_transform_with_p_zero_returns_inputs_untouched() -> None:
    batch = _batch()
    for transform in (RandomGaussianNoise(p=0.0), RandomGamma(p=0.0), RandomLowResolution(p=0.0)):
        out = transform.apply(batch, torch.Generator().manual_seed(0))
        assert out["image"] is batch["image"]


def test_deterministic_twin_reproduces_the_random_draw() -> None:
    batch = _batch(b=3)
    twin = RandomBrightness(p=1.0, multiplier_range=(0.5, 2.0)).sample(
        batch, torch.Generator().manual_seed(1)
    )
    assert isinstance(twin, Brightness)
    factors = torch.as_tensor(twin.multiplier)
    assert factors.shape == (3, 2) and torch.all((factors >= 0.5) & (factors < 2.0))
    out = twin.apply(batch)
    assert torch.allclose(out["image"], batch["image"] * factors[:, :, None, None, None])


@pytest.mark.parametrize("dims", [2, 3])
def test_pipeline_is_deterministic_for_a_seed_and_varies_across_seeds(dims: int) -> None:
    config = AugmentationConfig.from_mapping({"spatial": {"p_elastic": 0.5}, "bias_field": {"enabled": True}})
    pipeline = build_augmentation(config, dims)
    batch = _batch(dims, b=6)
    first = pipeline.apply(batch, torch.Generator().manual_seed(11))
    second = pipeline.apply(batch, torch.Generator().manual_seed(11))
    other = pipeline.apply(batch, torch.Generator().manual_seed(12))
    assert torch.equal(first["image"], second["image"]) and torch.equal(first["label"], second["label"])
    assert not torch.equal(first["image"], other["image"])
    assert set(first["label"].unique().tolist()) <= set(batch["label"].unique().tolist())
    assert first["image"].shape == batch["image"].shape and first["label"].dtype == torch.long


def test_tuple_in_tuple_out_and_dict_keys_ride_along() -> None:
    batch = _batch(2)
    out = build_augmentation(None, 2)((batch["image"], batch["label"]), torch.Generator().manual_seed(0))
    assert isinstance(out, tuple) and out[0].shape == batch["image"].shape
    extra = build_augmentation(None, 2)({**batch, "weights": torch.ones(3)})
    assert isinstance(extra, dict) and torch.equal(extra["weights"], torch.ones(3))


def test_default_config_is_nnunet_and_builds_in_nnunet_order() -> None:
    config = default_augmentation_config()
    assert (config.spatial.p_rotation, config.spatial.p_scaling, config.spatial.scaling_range) == (
        0.2,
        0.2,
        (0.7, 1.4),
    )
    assert (config.noise.p, config.noise.std_range) == (0.1, (0.0, 0.1))
    assert (config.blur.p, config.blur.sigma_range, config.blur.p_per_channel) == (0.2, (0.5, 1.0), 0.5)
    assert (config.brightness.p, config.contrast.p, config.low_resolution.p) == (0.15, 0.15, 0.25)
    assert (config.gamma_inverted.p, config.gamma.p, config.gamma.gamma_range) == (0.1, 0.3, (0.7, 1.5))
    kinds = [type(t) for t in build_augmentation(config, 3).transforms]
    assert kinds == [
        RandomSpatialTransform,
        RandomGaussianNoise,
        RandomGaussianBlur,
        RandomBrightness,
        RandomContrast,
        RandomLowResolution,
        RandomGamma,
        RandomGamma,
        RandomMirror,
    ]
    gammas = [t for t in build_augmentation(config, 3).transforms if isinstance(t, RandomGamma)]
    assert [(g.invert, g.p) for g in gammas] == [(True, 0.1), (False, 0.3)]


def test_sections_can_be_switched_off_and_config_round_trips_through_json() -> None:
    config = AugmentationConfig.from_mapping({"mirror": {"enabled": False}, "noise": {"enabled": False}})
    kinds = {type(t) for t in build_augmentation(config, 2).transforms}
    assert RandomMirror not in kinds and RandomGaussianNoise not in kinds and RandomGamma in kinds
    dumped = json.loads(json.dumps(config.model_dump(mode="json")))
    assert AugmentationConfig.from_mapping(dumped) == config
    # an empty mapping (Plan.augmentation's default) is nnU-Net's pipeline
    assert repr(build_augmentation({}, 3)) == repr(build_augmentation(default_augmentation_config(), 3))


@pytest.mark.parametrize(
    ("values", "dims", "key"),
    [
        ({"noise": {"p": 2}}, 3, "augmentation.noise.p"),
        ({"blur": {"sigma_range": [1.0, 0.5]}}, 3, "augmentation.blur"),
        ({"gamma": {"gama_range": [0.7, 1.5]}}, 3, "augmentation.gamma.gama_range"),
        ({"mirror": {"axes": [2]}}, 2, "augmentation.mirror.axes"),
        ({"spatial": {"image_mode": "cubic"}}, 3, "augmentation.spatial.image_mode"),
    ],
)
def test_bad_config_raises_one_line_config_error_naming_the_key(values: dict, dims: int, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        build_augmentation(values, dims)
    message = str(error.value)
    assert message.startswith(key) and "\n" not in message


def test_pipeline_never_modifies_the_callers_tensors() -> None:
    batch = _batch(3, b=8)
    image, label = batch["image"].clone(), batch["label"].clone()
    config = AugmentationConfig.from_mapping(
        {"spatial": {"p_rotation": 0.5}, "noise": {"p": 0.5}, "mirror": {"p_per_axis": 0.5}}
    )
    pipeline = build_augmentation(config, 3)
    for seed in range(4):
        pipeline.apply(batch, torch.Generator().manual_seed(seed))
        assert torch.equal(batch["image"], image) and torch.equal(batch["label"], label)
