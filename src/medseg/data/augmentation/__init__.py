"""Batched, device-agnostic data augmentation on torch tensors (nnU-Net's set plus a bias field).

Each random transform ``RandomX`` draws per-sample parameters from a :class:`torch.Generator` and
applies its deterministic twin ``X`` to the chosen samples only. :func:`build_augmentation` turns an
:class:`AugmentationConfig` into a :class:`Compose` in nnU-Net's order: spatial, bias field, noise,
blur, brightness, contrast, low resolution, inverted gamma, gamma, mirror.
"""

from medseg.data.augmentation.base import RandomTransform, Transform
from medseg.data.augmentation.bias_field import BiasField, RandomBiasField
from medseg.data.augmentation.blur import GaussianBlur, RandomGaussianBlur
from medseg.data.augmentation.brightness import Brightness, RandomBrightness
from medseg.data.augmentation.compose import Compose
from medseg.data.augmentation.config import AugmentationConfig, default_augmentation_config
from medseg.data.augmentation.contrast import Contrast, RandomContrast
from medseg.data.augmentation.factory import build_augmentation
from medseg.data.augmentation.gamma import Gamma, RandomGamma
from medseg.data.augmentation.low_resolution import LowResolution, RandomLowResolution
from medseg.data.augmentation.mirror import Mirror, RandomMirror
from medseg.data.augmentation.noise import GaussianNoise, RandomGaussianNoise
from medseg.data.augmentation.spatial import RandomSpatialTransform, SpatialTransform

__all__ = [
    "AugmentationConfig",
    "BiasField",
    "Brightness",
    "Compose",
    "Contrast",
    "Gamma",
    "GaussianBlur",
    "GaussianNoise",
    "LowResolution",
    "Mirror",
    "RandomBiasField",
    "RandomBrightness",
    "RandomContrast",
    "RandomGamma",
    "RandomGaussianBlur",
    "RandomGaussianNoise",
    "RandomLowResolution",
    "RandomMirror",
    "RandomSpatialTransform",
    "RandomTransform",
    "SpatialTransform",
    "Transform",
    "build_augmentation",
    "default_augmentation_config",
]
