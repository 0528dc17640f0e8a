"""Dimension-generic building blocks: conv block, residual block, down/up-sampling, DS heads."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from typing_extensions import override

from medseg.layers.choices import act_t, conv_t, norm_t
from medseg.layers.layer_t import LayerT

Size = int | Sequence[int]


def as_tuple(value: Size, spatial_dims: int) -> tuple[int, ...]:
    """``3 -> (3, 3, 3)``; a sequence must have one entry per spatial axis."""
    if isinstance(value, int):
        return (value,) * spatial_dims
    result = tuple(int(v) for v in value)
    if len(result) != spatial_dims:
        raise ValueError(f"expected {spatial_dims} values (one per spatial axis), got {list(result)}")
    return result


def same_padding(kernel_size: Size, spatial_dims: int) -> tuple[int, ...]:
    """Padding that keeps the size for odd kernels (``k // 2`` per axis)."""
    return tuple(k // 2 for k in as_tuple(kernel_size, spatial_dims))


class ConvBlock(nn.Sequential):
    """conv -> norm -> act; each is swappable (a name or a LayerT; ``None`` drops norm/act)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        spatial_dims: int = 3,
        kernel_size: Size = 3,
        stride: Size = 1,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        conv: LayerT | None = None,
        bias: bool = True,
    ) -> None:
        conv_layer = conv if conv is not None else conv_t(spatial_dims)
        layers: list[nn.Module] = [
            conv_layer.assemble(
                in_channels,
                out_channels,
                kernel_size=as_tuple(kernel_size, spatial_dims),
                stride=as_tuple(stride, spatial_dims),
                padding=same_padding(kernel_size, spatial_dims),
                bias=bias,
            )
        ]
        norm_layer = norm_t(norm, spatial_dims)
        if norm_layer is not None:
            layers.append(norm_layer.assemble(channels=out_channels))
        act_layer = act_t(act)
        if act_layer is not None:
            layers.append(act_layer.assemble())
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two conv blocks with an identity (or strided 1x1 conv + norm) shortcut, then the activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        spatial_dims: int = 3,
        kernel_size: Size = 3,
        stride: Size = 1,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        conv: LayerT | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = ConvBlock(in_channels, out_channels, spatial_dims, kernel_size, stride, norm, act, conv)
        self.conv2 = ConvBlock(out_channels, out_channels, spatial_dims, kernel_size, 1, norm, None, conv)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels or any(s != 1 for s in as_tuple(stride, spatial_dims)):
            self.shortcut = ConvBlock(in_channels, out_channels, spatial_dims, 1, stride, norm, None, conv)
        act_layer = act_t(act)
        self.act: nn.Module = act_layer.assemble() if act_layer is not None else nn.Identity()

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class Downsample(nn.Sequential):
    """Strided convolution with kernel = stride (learned pooling), optionally followed by norm/act."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        spatial_dims: int = 3,
        stride: Size = 2,
        norm: str | LayerT | None = None,
        act: str | LayerT | None = None,
    ) -> None:
        strides = as_tuple(stride, spatial_dims)
        layers: list[nn.Module] = [
            conv_t(spatial_dims).assemble(in_channels, out_channels, kernel_size=strides, stride=strides)
        ]
        norm_layer = norm_t(norm, spatial_dims)
        if norm_layer is not None:
            layers.append(norm_layer.assemble(channels=out_channels))
        act_layer = act_t(act)
        if act_layer is not None:
            layers.append(act_layer.assemble())
        super().__init__(*layers)


class Upsample(nn.Sequential):
    """Transposed convolution with kernel = stride: multiplies each axis' size by its stride."""

    def __init__(self, in_channels: int, out_channels: int, spatial_dims: int = 3, stride: Size = 2) -> None:
        strides = as_tuple(stride, spatial_dims)
        transposed = conv_t(spatial_dims, transposed=True)
        super().__init__(transposed.assemble(in_channels, out_channels, kernel_size=strides, stride=strides))


class DeepSupervisionHeads(nn.Module):
    """One 1x1 convolution per decoder level; maps a list of features to a list of logits."""

    def __init__(self, channels: Sequence[int], out_channels: int, spatial_dims: int = 3) -> None:
        super().__init__()
        conv = conv_t(spatial_dims)
        self.heads = nn.ModuleList(conv.assemble(c, out_channels, kernel_size=1) for c in channels)

    @override
    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if len(features) != len(self.heads):
            raise ValueError(
                f"DeepSupervisionHeads: {len(self.heads)} heads but {len(features)} feature maps"
            )
        return [head(f) for head, f in zip(self.heads, features)]
