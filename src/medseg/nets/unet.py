"""Dynamic U-Net (nnU-Net style): topology from patch size and spacing; plain, residual, pocket."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from typing_extensions import override

from medseg.core.topology import Topology, divisor_from_strides, stage_features, unet_topology
from medseg.layers import ConvBlock, DeepSupervisionHeads, LayerT, ResidualBlock, Upsample
from medseg.nets.divisibility import check_patch_size

RESIDUAL_BLOCKS_PER_STAGE = (1, 3, 4, 6, 6, 6, 6)  # nnU-Net ResEnc-M encoder


def resolve_topology(
    patch_size: Sequence[int],
    spacing: Sequence[float] | None,
    features_base: int,
    max_features: int | None,
    depth: int | None,
    pool_strides: Sequence[Sequence[int]] | None,
    conv_kernels: Sequence[Sequence[int]] | None,
    pocket: bool,
) -> Topology:
    """``unet_topology`` unless explicit ``pool_strides`` (and optionally ``conv_kernels``) are given."""
    dims = len(patch_size)
    if pool_strides is None:
        if conv_kernels is not None:
            raise ValueError("conv_kernels given without pool_strides; give both or neither")
        return unet_topology(patch_size, spacing, features_base, max_features, depth, pocket=pocket)
    strides = tuple(tuple(int(v) for v in s) for s in pool_strides)
    kernels = (
        tuple(tuple(int(v) for v in k) for k in conv_kernels)
        if conv_kernels is not None
        else ((3,) * dims,) * (len(strides) + 1)
    )
    if len(kernels) != len(strides) + 1:
        raise ValueError(f"conv_kernels needs {len(strides) + 1} entries (one per stage), got {len(kernels)}")
    if any(len(s) != dims for s in strides + kernels):
        raise ValueError(f"pool_strides/conv_kernels entries must have {dims} values each")
    return Topology(
        strides,
        kernels,
        stage_features(len(kernels), dims, features_base, max_features, pocket),
        divisor_from_strides(strides, dims),
    )


class DynamicUNet(nn.Module):
    """U-Net whose depth, strides and kernels follow :func:`unet_topology` (or explicit ones).

    Training mode with ``deep_supervision`` returns a list of logits, one per decoder level,
    highest resolution first; otherwise a logits tensor at input resolution.

    ``features_base`` is the first stage's width (doubling, capped at ``max_features``; constant
    when ``pocket``); ``depth`` caps the number of poolings (None: 5 in 3D, 6 in 2D);
    ``residual`` uses residual blocks (``blocks_per_stage``) in the encoder, as nnU-Net ResEnc.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        spacing: Sequence[float] | None = None,
        features_base: int = 32,
        max_features: int | None = None,
        depth: int | None = None,
        pool_strides: Sequence[Sequence[int]] | None = None,
        conv_kernels: Sequence[Sequence[int]] | None = None,
        residual: bool = False,
        pocket: bool = False,
        convs_per_stage: int = 2,
        blocks_per_stage: Sequence[int] | None = None,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        deep_supervision: bool = False,
        name: str = "unet",
    ) -> None:
        super().__init__()
        self.topology = resolve_topology(
            patch_size, spacing, features_base, max_features, depth, pool_strides, conv_kernels, pocket
        )
        self.patch_size_divisor = self.topology.patch_size_divisor
        check_patch_size(name, patch_size, self.patch_size_divisor)
        dims = len(patch_size)
        self.deep_supervision = deep_supervision
        topo = self.topology
        feats, kernels = topo.features, topo.conv_kernels
        self.encoder = nn.ModuleList()
        for i in range(topo.num_stages):
            stride = topo.pool_strides[i - 1] if i > 0 else 1
            in_ch = feats[i - 1] if i > 0 else in_channels
            if residual:
                counts = blocks_per_stage or RESIDUAL_BLOCKS_PER_STAGE
                n_blocks = counts[min(i, len(counts) - 1)]
                stem: list[nn.Module] = (
                    [ConvBlock(in_ch, feats[i], dims, kernels[i], 1, norm, act)] if i == 0 else []
                )
                first_in = feats[i] if i == 0 else in_ch
                blocks = [
                    ResidualBlock(
                        first_in if b == 0 else feats[i],
                        feats[i],
                        dims,
                        kernels[i],
                        stride if b == 0 else 1,
                        norm,
                        act,
                    )
                    for b in range(n_blocks)
                ]
                self.encoder.append(nn.Sequential(*stem, *blocks))
            else:
                convs = [
                    ConvBlock(
                        in_ch if c == 0 else feats[i],
                        feats[i],
                        dims,
                        kernels[i],
                        stride if c == 0 else 1,
                        norm,
                        act,
                    )
                    for c in range(convs_per_stage)
                ]
                self.encoder.append(nn.Sequential(*convs))
        self.upsamples = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i in reversed(range(topo.num_stages - 1)):
            self.upsamples.append(Upsample(feats[i + 1], feats[i], dims, topo.pool_strides[i]))
            convs = [
                ConvBlock(2 * feats[i] if c == 0 else feats[i], feats[i], dims, kernels[i], 1, norm, act)
                for c in range(convs_per_stage)
            ]
            self.decoder.append(nn.Sequential(*convs))
        levels = list(range(topo.num_stages - 1)) or [0]
        head_channels = [feats[i] for i in levels] if deep_supervision else [feats[0]]
        self.heads = DeepSupervisionHeads(head_channels, out_channels, dims)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        skips: list[torch.Tensor] = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        decoded: list[torch.Tensor] = []
        for upsample, decode in zip(self.upsamples, self.decoder):
            x = decode(torch.cat([upsample(x), skips.pop()], dim=1))
            decoded.append(x)
        if not decoded:
            decoded = [x]
        decoded.reverse()  # highest resolution first
        if self.deep_supervision and self.training:
            return self.heads(decoded)
        return self.heads.heads[0](decoded[0])
