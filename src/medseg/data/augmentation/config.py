"""The augmentation settings (one switchable section per transform) and the pipeline they build.

The order is nnU-Net v2's: spatial, (bias field), noise, blur, brightness, contrast, low
resolution, gamma on the inverted image, gamma, mirror. Defaults are nnU-Net v2's
(``nnUNetTrainer.get_training_transforms``); the bias field is off by default (not in nnU-Net).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from medseg.core.errors import ConfigError


class _Section(BaseModel):
    """Common fields: ``enabled`` switches the transform, ``p`` is the per-sample probability."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    p: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ranges_ordered(self) -> _Section:
        for name, value in self:
            if name.endswith("_range") and isinstance(value, tuple) and value[0] > value[1]:
                raise ValueError(f"{name} low {value[0]} > high {value[1]}")
        return self


class SpatialSection(_Section):
    """Rotation, scaling and elastic deformation (one resampling); ``p`` is unused, see the three ``p_*``."""

    p_rotation: float = Field(default=0.2, ge=0.0, le=1.0)
    rotation_range: tuple[float, float] | None = None
    p_scaling: float = Field(default=0.2, ge=0.0, le=1.0)
    scaling_range: tuple[float, float] = (0.7, 1.4)
    p_elastic: float = Field(default=0.0, ge=0.0, le=1.0)
    elastic_spacing_range: tuple[float, float] = (8.0, 16.0)
    elastic_magnitude_range: tuple[float, float] = (0.0, 4.0)
    image_mode: Literal["linear", "cubic", "nearest"] | None = None
    label_fill: int = 0


class BiasFieldSection(_Section):
    """Smooth multiplicative polynomial field (TorchIO's defaults)."""

    enabled: bool = False
    p: float = Field(default=0.1, ge=0.0, le=1.0)
    coefficient_range: tuple[float, float] = (-0.5, 0.5)
    order: int = Field(default=3, ge=0, le=6)


class NoiseSection(_Section):
    """Additive Gaussian noise."""

    p: float = Field(default=0.1, ge=0.0, le=1.0)
    std_range: tuple[float, float] = (0.0, 0.1)


class BlurSection(_Section):
    """Gaussian blur."""

    p: float = Field(default=0.2, ge=0.0, le=1.0)
    sigma_range: tuple[float, float] = (0.5, 1.0)
    p_per_channel: float = Field(default=0.5, ge=0.0, le=1.0)


class BrightnessSection(_Section):
    """Multiplicative brightness."""

    p: float = Field(default=0.15, ge=0.0, le=1.0)
    multiplier_range: tuple[float, float] = (0.75, 1.25)


class ContrastSection(_Section):
    """Contrast with range preservation."""

    p: float = Field(default=0.15, ge=0.0, le=1.0)
    factor_range: tuple[float, float] = (0.75, 1.25)
    preserve_range: bool = True


class LowResolutionSection(_Section):
    """Simulated low resolution."""

    p: float = Field(default=0.25, ge=0.0, le=1.0)
    zoom_range: tuple[float, float] = (0.5, 1.0)
    p_per_channel: float = Field(default=0.5, ge=0.0, le=1.0)
    ignore_axes: tuple[int, ...] = ()


class GammaSection(_Section):
    """Gamma with retained statistics (``p`` 0.3 plain, 0.1 for the inverted image)."""

    p: float = Field(default=0.3, ge=0.0, le=1.0)
    gamma_range: tuple[float, float] = (0.7, 1.5)
    retain_stats: bool = True


class MirrorSection(_Section):
    """Mirroring; ``axes`` ``None`` means every spatial axis."""

    axes: tuple[int, ...] | None = None
    p_per_axis: float = Field(default=0.5, ge=0.0, le=1.0)


class AugmentationConfig(BaseModel):
    """Every augmentation section, in pipeline order; JSON-serialisable for ``Plan.augmentation``."""

    model_config = ConfigDict(extra="forbid")

    spatial: SpatialSection = SpatialSection()
    bias_field: BiasFieldSection = BiasFieldSection()
    noise: NoiseSection = NoiseSection()
    blur: BlurSection = BlurSection()
    brightness: BrightnessSection = BrightnessSection()
    contrast: ContrastSection = ContrastSection()
    low_resolution: LowResolutionSection = LowResolutionSection()
    gamma_inverted: GammaSection = GammaSection(p=0.1)
    gamma: GammaSection = GammaSection()
    mirror: MirrorSection = MirrorSection()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AugmentationConfig:
        """Validate a plain mapping (e.g. ``Plan.augmentation``); a bad key or value raises ConfigError."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            raise ConfigError(
                f"augmentation.{key}: {first['msg']} (got {first.get('input')!r})".replace("\n", " ")
            ) from None


def default_augmentation_config() -> AugmentationConfig:
    """nnU-Net v2's augmentation settings (plus a disabled bias field)."""
    return AugmentationConfig()
