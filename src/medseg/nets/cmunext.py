"""CMUNeXt (Tang et al., ISBI 2024), dimension-generic: large-kernel depthwise encoder, skip fusion.

Five stages with four max-poolings (divisor 16). An encoder stage repeats ``depth`` times a
residual depthwise conv (kernel ``k``) followed by an inverted-bottleneck pair of pointwise convs,
then changes width with a conv block. The decoder upsamples (nearest + conv block) and fuses the
skip with a grouped 3x3 conv and a pointwise bottleneck.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from typing_extensions import override

from medseg.layers import ConvBlock, LayerT, conv_t
from medseg.nets.registry import register_network


class _Residual(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)


def _depthwise_mixer(channels: int, dims: int, kernel_size: int, norm: str | LayerT) -> nn.Module:
    conv = conv_t(dims).update(groups=channels)
    return nn.Sequential(
        _Residual(ConvBlock(channels, channels, dims, kernel_size, 1, norm, "gelu", conv=conv)),
        ConvBlock(channels, 4 * channels, dims, 1, 1, norm, "gelu"),
        ConvBlock(4 * channels, channels, dims, 1, 1, norm, "gelu"),
    )


class CMUNeXtStage(nn.Sequential):
    """``depth`` large-kernel mixers, then a 3x3 conv block from ``in_channels`` to ``out_channels``."""

    def __init__(
        self, in_channels: int, out_channels: int, dims: int, depth: int, kernel_size: int, norm: str | LayerT
    ) -> None:
        mixers = [_depthwise_mixer(in_channels, dims, kernel_size, norm) for _ in range(depth)]
        super().__init__(*mixers, ConvBlock(in_channels, out_channels, dims, 3, 1, norm, "relu"))


class SkipFusion(nn.Sequential):
    """Grouped 3x3 conv over [upsampled, skip], then pointwise expand (x4) and project."""

    def __init__(self, in_channels: int, out_channels: int, dims: int, norm: str | LayerT) -> None:
        grouped = conv_t(dims).update(groups=2)
        super().__init__(
            ConvBlock(in_channels, in_channels, dims, 3, 1, norm, "gelu", conv=grouped),
            ConvBlock(in_channels, 4 * out_channels, dims, 1, 1, norm, "gelu"),
            ConvBlock(4 * out_channels, out_channels, dims, 1, 1, norm, "gelu"),
        )


class CMUNeXt(nn.Module):
    """CMUNeXt with widths ``features``, mixer ``depths`` and ``kernels`` per stage (five stages)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        spatial_dims: int = 2,
        features: Sequence[int] = (16, 32, 128, 160, 256),
        depths: Sequence[int] = (1, 1, 1, 3, 1),
        kernels: Sequence[int] = (3, 3, 7, 7, 7),
        norm: str | LayerT = "batch",
    ) -> None:
        super().__init__()
        if not len(features) == len(depths) == len(kernels) == 5:
            raise ValueError("network 'cmunext': features, depths and kernels need 5 entries each")
        dims, f = spatial_dims, list(features)
        self.stem = ConvBlock(in_channels, f[0], dims, 3, 1, norm, "relu")
        widths_in = [f[0], *f[:-1]]
        self.encoder = nn.ModuleList(
            CMUNeXtStage(widths_in[i], f[i], dims, depths[i], kernels[i], norm) for i in range(5)
        )
        self.pool = nn.MaxPool2d(2) if dims == 2 else nn.MaxPool3d(2)
        self.up = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                ConvBlock(f[i + 1], f[i], dims, 3, 1, norm, "relu"),
            )
            for i in reversed(range(4))
        )
        self.fuse = nn.ModuleList(SkipFusion(2 * f[i], f[i], dims, norm) for i in reversed(range(4)))
        self.head = conv_t(dims).assemble(f[0], out_channels, kernel_size=1)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips: list[torch.Tensor] = []
        for i, stage in enumerate(self.encoder):
            x = stage(self.pool(x) if i > 0 else x)
            skips.append(x)
        x = skips.pop()
        for up, fuse in zip(self.up, self.fuse):
            x = fuse(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


#: CMUNeXt's published widths (16, 32, 128, 160, 256) as multiples of the first stage's
WIDTH_FACTORS = (1, 2, 8, 10, 16)


@register_network("cmunext", divisor=16)
def build_cmunext(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 16,
    features: Sequence[int] | None = None,
    depths: Sequence[int] = (1, 1, 1, 3, 1),
    kernels: Sequence[int] = (3, 3, 7, 7, 7),
    norm: str | LayerT = "batch",
) -> nn.Module:
    """CMUNeXt (four max-poolings: divisor 16); ``features`` (five widths) wins over ``features_base``."""
    widths = tuple(features) if features is not None else tuple(features_base * f for f in WIDTH_FACTORS)
    return CMUNeXt(in_channels, out_channels, len(patch_size), widths, depths, kernels, norm)
