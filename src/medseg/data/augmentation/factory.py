"""Build the augmentation pipeline from an :class:`AugmentationConfig`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medseg.core.errors import ConfigError
from medseg.data.augmentation.base import Transform
from medseg.data.augmentation.bias_field import RandomBiasField
from medseg.data.augmentation.blur import RandomGaussianBlur
from medseg.data.augmentation.brightness import RandomBrightness
from medseg.data.augmentation.compose import Compose
from medseg.data.augmentation.config import AugmentationConfig, default_augmentation_config
from medseg.data.augmentation.contrast import RandomContrast
from medseg.data.augmentation.gamma import RandomGamma
from medseg.data.augmentation.low_resolution import RandomLowResolution
from medseg.data.augmentation.mirror import RandomMirror
from medseg.data.augmentation.noise import RandomGaussianNoise
from medseg.data.augmentation.spatial import RandomSpatialTransform


def build_augmentation(config: AugmentationConfig | Mapping[str, Any] | None, spatial_dims: int) -> Compose:
    """The enabled transforms of ``config`` (``None``: the defaults) in nnU-Net order, for 2D or 3D patches."""
    if spatial_dims not in (2, 3):
        raise ConfigError(f"augmentation: spatial_dims must be 2 or 3, got {spatial_dims}")
    if config is None:
        config = default_augmentation_config()
    elif not isinstance(config, AugmentationConfig):
        config = AugmentationConfig.from_mapping(config)
    for name, axes in (
        ("mirror.axes", config.mirror.axes),
        ("low_resolution.ignore_axes", config.low_resolution.ignore_axes),
    ):
        if axes is not None and any(not 0 <= a < spatial_dims for a in axes):
            raise ConfigError(f"augmentation.{name}: axes {list(axes)} outside 0..{spatial_dims - 1}")
    if config.spatial.image_mode == "cubic" and spatial_dims == 3:
        raise ConfigError(
            "augmentation.spatial.image_mode: 'cubic' is 2D only; use 'linear' or 'nearest' in 3D"
        )
    s = config.spatial
    transforms: list[Transform] = []
    if s.enabled:
        transforms.append(
            RandomSpatialTransform(
                p_rotation=s.p_rotation,
                rotation_range=s.rotation_range,
                p_scaling=s.p_scaling,
                scaling_range=s.scaling_range,
                p_elastic=s.p_elastic,
                elastic_spacing_range=s.elastic_spacing_range,
                elastic_magnitude_range=s.elastic_magnitude_range,
                image_mode=s.image_mode,
                label_fill=s.label_fill,
            )
        )
    c = config
    optional: list[tuple[bool, Transform]] = [
        (
            c.bias_field.enabled,
            RandomBiasField(c.bias_field.p, c.bias_field.coefficient_range, c.bias_field.order),
        ),
        (c.noise.enabled, RandomGaussianNoise(c.noise.p, c.noise.std_range)),
        (c.blur.enabled, RandomGaussianBlur(c.blur.p, c.blur.sigma_range, c.blur.p_per_channel)),
        (c.brightness.enabled, RandomBrightness(c.brightness.p, c.brightness.multiplier_range)),
        (
            c.contrast.enabled,
            RandomContrast(c.contrast.p, c.contrast.factor_range, c.contrast.preserve_range),
        ),
        (
            c.low_resolution.enabled,
            RandomLowResolution(
                c.low_resolution.p,
                c.low_resolution.zoom_range,
                c.low_resolution.p_per_channel,
                c.low_resolution.ignore_axes,
            ),
        ),
        (
            c.gamma_inverted.enabled,
            RandomGamma(
                c.gamma_inverted.p,
                c.gamma_inverted.gamma_range,
                invert=True,
                retain_stats=c.gamma_inverted.retain_stats,
            ),
        ),
        (
            c.gamma.enabled,
            RandomGamma(c.gamma.p, c.gamma.gamma_range, invert=False, retain_stats=c.gamma.retain_stats),
        ),
        (c.mirror.enabled, RandomMirror(c.mirror.axes, c.mirror.p_per_axis)),
    ]
    transforms.extend(transform for enabled, transform in optional if enabled)
    return Compose(transforms)
