"""Networks MONAI implements, wrapped to our conventions (MONAI is imported lazily, when built).

Conventions: the forward returns logits; a net with deep supervision returns a list (highest
resolution / most refined output first) in training mode and a tensor in eval mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from medseg.nets.divisibility import check_bottleneck
from medseg.nets.registry import PatchCheck, register_network

# (encoder expansion, decoder expansion, bottleneck expansion, blocks down, bottleneck blocks, blocks up)
# per MedNeXt variant, as published by Roy et al. (2023).
MEDNEXT_VARIANTS: dict[str, tuple[Any, Any, int, tuple[int, ...], int, tuple[int, ...]]] = {
    "s": (2, 2, 2, (2, 2, 2, 2), 2, (2, 2, 2, 2)),
    "b": ((2, 3, 4, 4), (4, 4, 3, 2), 4, (2, 2, 2, 2), 2, (2, 2, 2, 2)),
    "m": ((2, 3, 4, 4), (4, 4, 3, 2), 4, (3, 4, 4, 4), 4, (4, 4, 4, 3)),
    "l": ((3, 4, 8, 8), (8, 8, 4, 3), 8, (3, 4, 8, 8), 8, (8, 8, 4, 3)),
}


class SequenceOutput(nn.Module):
    """Wrap a net whose forward returns a sequence of logits: a list in training + DS, else the first.

    ``reverse`` flips the wrapped net's order so that the most refined output comes first.
    """

    def __init__(self, net: nn.Module, deep_supervision: bool, reverse: bool = False) -> None:
        super().__init__()
        self.net = net
        self.deep_supervision = deep_supervision
        self.reverse = reverse

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        out = self.net(x)
        if isinstance(out, torch.Tensor):
            return out
        outputs = list(out)
        if self.reverse:
            outputs.reverse()
        if self.deep_supervision and self.training:
            return outputs
        return outputs[0]


@register_network("vnet", divisor=16)
def build_vnet(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    dropout_prob: float = 0.5,
) -> nn.Module:
    """MONAI's V-Net (four stride-2 down-transitions: divisor 16; in_channels must divide 16)."""
    from monai.networks.nets import VNet

    if 16 % in_channels != 0:
        raise ValueError(f"network 'vnet': in_channels={in_channels} must divide 16 (1, 2, 4, 8 or 16)")
    dims = len(patch_size)
    return VNet(
        spatial_dims=dims,
        in_channels=in_channels,
        out_channels=out_channels,
        dropout_prob_down=dropout_prob,
        dropout_prob_up=(dropout_prob, dropout_prob),
        dropout_dim=dims,
    )


def _bottleneck(name: str, divisor: int) -> PatchCheck:
    def check(patch: Sequence[int]) -> None:
        check_bottleneck(name, patch, divisor)

    return check


@register_network("unetr", divisor=16)
def build_unetr(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 16,
    hidden_size: int = 768,
    mlp_dim: int = 3072,
    num_heads: int = 12,
    dropout_rate: float = 0.0,
) -> nn.Module:
    """MONAI's UNETR (16-voxel ViT patches: divisor 16); ``features_base`` is MONAI's ``feature_size``."""
    from monai.networks.nets import UNETR

    if hidden_size % num_heads:
        raise ValueError(
            f"network 'unetr': hidden_size={hidden_size} must be a multiple of num_heads={num_heads}"
        )
    return UNETR(
        in_channels,
        out_channels,
        img_size=tuple(patch_size),
        feature_size=features_base,
        hidden_size=hidden_size,
        mlp_dim=mlp_dim,
        num_heads=num_heads,
        dropout_rate=dropout_rate,
        spatial_dims=len(patch_size),
    )


def _swinunetr(
    name: str,
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    features_base: int,
    depths: Sequence[int],
    num_heads: Sequence[int],
    use_v2: bool,
    drop_rate: float,
) -> nn.Module:
    from monai.networks.nets import SwinUNETR

    if features_base % 12 != 0:
        raise ValueError(f"network '{name}': features_base={features_base} must be a multiple of 12")
    return SwinUNETR(
        in_channels,
        out_channels,
        depths=tuple(depths),
        num_heads=tuple(num_heads),
        feature_size=features_base,
        drop_rate=drop_rate,
        spatial_dims=len(patch_size),
        use_v2=use_v2,
    )


@register_network("swinunetr", divisor=32, check=_bottleneck("swinunetr", 32), width_multiple=12)
def build_swinunetr(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 24,
    depths: Sequence[int] = (2, 2, 2, 2),
    num_heads: Sequence[int] = (3, 6, 12, 24),
    use_v2: bool = False,
    drop_rate: float = 0.0,
) -> nn.Module:
    """MONAI's Swin UNETR (patch 2 then four mergings: divisor 32); ``features_base`` is MONAI's
    ``feature_size`` (a multiple of 12); ``use_v2`` adds residual conv stages (Swin UNETR-V2)."""
    return _swinunetr(
        "swinunetr",
        in_channels,
        out_channels,
        patch_size,
        features_base,
        depths,
        num_heads,
        use_v2,
        drop_rate,
    )


#: Swin UNETR-V2 sizes by name (MIST's swinunetr-small/base/large): features_base = MONAI feature_size
SWINUNETR_V2_SIZES = {"small": 24, "base": 48, "large": 96}


def _register_swinunetr_v2(size: str, width: int) -> None:
    name = f"swinunetr-{size}"

    @register_network(name, divisor=32, check=_bottleneck(name, 32), width_multiple=12)
    def build(
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        spacing: Sequence[float] | None = None,
        features_base: int = width,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        drop_rate: float = 0.0,
    ) -> nn.Module:
        """Swin UNETR-V2 (MONAI's SwinUNETR with use_v2), a named size of MIST's (divisor 32)."""
        return _swinunetr(
            name, in_channels, out_channels, patch_size, features_base, depths, num_heads, True, drop_rate
        )


for _size, _width in SWINUNETR_V2_SIZES.items():
    _register_swinunetr_v2(_size, _width)


@register_network("unetpp", divisor=16, deep_supervision=True, check=_bottleneck("unetpp", 16))
def build_unetpp(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 32,
    deep_supervision: bool = False,
) -> nn.Module:
    """MONAI's UNet++ (four max-poolings: divisor 16); DS outputs are all full resolution."""
    from monai.networks.nets import BasicUNetPlusPlus

    f = features_base
    net = BasicUNetPlusPlus(
        spatial_dims=len(patch_size),
        in_channels=in_channels,
        out_channels=out_channels,
        features=(f, f, 2 * f, 4 * f, 8 * f, f),
        deep_supervision=deep_supervision,
    )
    return SequenceOutput(net, deep_supervision, reverse=True)


def _build_mednext(
    variant: str,
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    kernel_size: int,
    features_base: int,
    deep_supervision: bool,
) -> nn.Module:
    from monai.networks.nets import MedNeXt

    if kernel_size not in (3, 5, 7):
        raise ValueError(f"network 'mednext-{variant}': kernel_size={kernel_size} must be 3, 5 or 7")
    enc, dec, bottleneck, down, n_bottleneck, up = MEDNEXT_VARIANTS[variant]
    net = MedNeXt(
        spatial_dims=len(patch_size),
        init_filters=features_base,
        in_channels=in_channels,
        out_channels=out_channels,
        encoder_expansion_ratio=enc,
        decoder_expansion_ratio=dec,
        bottleneck_expansion_ratio=bottleneck,
        kernel_size=kernel_size,
        deep_supervision=deep_supervision,
        use_residual_connection=True,
        blocks_down=down,
        blocks_bottleneck=n_bottleneck,
        blocks_up=up,
        norm_type="group",
        global_resp_norm=False,
    )
    return SequenceOutput(net, deep_supervision)


def _register_mednext(variant: str) -> None:
    @register_network(
        f"mednext-{variant}", divisor=16, deep_supervision=True, check=_bottleneck(f"mednext-{variant}", 16)
    )
    def build(
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        spacing: Sequence[float] | None = None,
        kernel_size: int = 3,
        features_base: int = 32,
        deep_supervision: bool = False,
    ) -> nn.Module:
        """MONAI's MedNeXt (four stride-2 stages: divisor 16), kernel 3, 5 or 7."""
        return _build_mednext(
            variant, in_channels, out_channels, patch_size, kernel_size, features_base, deep_supervision
        )


for _variant in MEDNEXT_VARIANTS:
    _register_mednext(_variant)
