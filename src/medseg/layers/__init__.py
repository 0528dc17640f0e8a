"""medseg.layers: LayerT and dimension-generic building blocks (imports only torch)."""

from medseg.layers.blocks import (
    ConvBlock,
    DeepSupervisionHeads,
    Downsample,
    ResidualBlock,
    Upsample,
    as_tuple,
    same_padding,
)
from medseg.layers.choices import act_t, conv_t, conv_type, norm_t
from medseg.layers.layer_t import Deferred, LayerT

__all__ = [
    "ConvBlock",
    "DeepSupervisionHeads",
    "Deferred",
    "Downsample",
    "LayerT",
    "ResidualBlock",
    "Upsample",
    "act_t",
    "as_tuple",
    "conv_t",
    "conv_type",
    "norm_t",
    "same_padding",
]
