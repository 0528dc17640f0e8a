"""TransUNet-style hybrids: CNN encoder, a transformer bottleneck at 1/16 resolution, CNN decoder.

Stages 0-3 are conv blocks (stride 2 from stage 1 on); a stride-2 patch embedding turns the 1/8
features into tokens at 1/16 (divisor 16). The bottleneck is either a pre-norm ViT encoder with a
learned position embedding (resized by interpolation when the input grid differs from the patch's)
— ``transunet`` — or shifted-window Swin transformer blocks (MONAI's ``BasicLayer``, relative
position bias, no absolute embedding) — ``swintransunet``, the seed MSD framework's SwinTransUNET.
An upsampling decoder with skips returns to full resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from medseg.layers import ConvBlock, Downsample, LayerT, Upsample, conv_t
from medseg.nets.registry import register_network


class TransUNet(nn.Module):
    """Hybrid CNN-transformer U-Net for a fixed training ``patch_size``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        features_base: int = 32,
        hidden_size: int = 256,
        num_layers: int = 4,
        num_heads: int = 8,
        mlp_dim: int = 512,
        dropout: float = 0.0,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        bottleneck: Literal["vit", "swin"] = "vit",
        window_size: int = 4,
    ) -> None:
        super().__init__()
        if hidden_size % num_heads != 0:
            raise ValueError(
                f"network 'transunet': hidden_size={hidden_size} not divisible by num_heads={num_heads}"
            )
        dims, f = len(patch_size), features_base
        feats = [f, 2 * f, 4 * f, 8 * f]
        self.encoder = nn.ModuleList(
            nn.Sequential(
                ConvBlock(
                    in_channels if i == 0 else feats[i - 1], feats[i], dims, 3, 1 if i == 0 else 2, norm, act
                ),
                ConvBlock(feats[i], feats[i], dims, 3, 1, norm, act),
            )
            for i in range(4)
        )
        self.embed = Downsample(feats[3], hidden_size, dims, 2)
        self.grid = tuple(s // 16 for s in patch_size)
        self.bottleneck = bottleneck
        self.token_norm = nn.LayerNorm(hidden_size)
        if bottleneck == "vit":
            self.position = nn.Parameter(torch.zeros(1, hidden_size, *self.grid))
            nn.init.trunc_normal_(self.position, std=0.02)
            layer = nn.TransformerEncoderLayer(
                hidden_size, num_heads, mlp_dim, dropout, activation="gelu", batch_first=True, norm_first=True
            )
            self.transformer: nn.Module = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        elif bottleneck == "swin":
            from monai.networks.nets.swin_unetr import BasicLayer

            self.transformer = BasicLayer(
                hidden_size,
                num_layers,
                num_heads,
                (window_size,) * dims,
                drop_path=[0.0] * num_layers,
                mlp_ratio=mlp_dim / hidden_size,
                qkv_bias=True,
                drop=dropout,
            )
        else:
            raise ValueError(f"bottleneck: unknown {bottleneck!r}; valid: vit, swin")
        self.up = nn.ModuleList(
            Upsample(hidden_size if i == 3 else feats[i + 1], feats[i], dims, 2) for i in reversed(range(4))
        )
        self.decoder = nn.ModuleList(
            nn.Sequential(
                ConvBlock(2 * feats[i], feats[i], dims, 3, 1, norm, act),
                ConvBlock(feats[i], feats[i], dims, 3, 1, norm, act),
            )
            for i in reversed(range(4))
        )
        self.head = conv_t(dims).assemble(f, out_channels, kernel_size=1)

    def _position(self, grid: Sequence[int]) -> torch.Tensor:
        if tuple(grid) == self.grid:
            return self.position
        mode = "bilinear" if len(grid) == 2 else "trilinear"
        return F.interpolate(self.position, size=tuple(grid), mode=mode, align_corners=False)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        tokens = self.embed(x)
        grid = tokens.shape[2:]
        if self.bottleneck == "vit":
            tokens = self.transformer((tokens + self._position(grid)).flatten(2).transpose(1, 2))
        else:
            tokens = self.transformer(tokens).flatten(2).transpose(1, 2)
        sequence = self.token_norm(tokens)
        x = sequence.transpose(1, 2).reshape(sequence.shape[0], -1, *grid)
        for up, decode in zip(self.up, self.decoder):
            x = decode(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)

    @property
    def num_tokens(self) -> int:
        """Tokens per sample at the training patch size."""
        return math.prod(self.grid)


@register_network("transunet", divisor=16)
def build_transunet(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 32,
    hidden_size: int = 256,
    num_layers: int = 4,
    num_heads: int = 8,
    mlp_dim: int = 512,
    dropout: float = 0.0,
    norm: str | LayerT | None = "instance",
    act: str | LayerT | None = "leakyrelu",
) -> nn.Module:
    """TransUNet with a small ViT bottleneck (three stride-2 conv stages + stride-2 embedding: divisor 16)."""
    return TransUNet(
        in_channels,
        out_channels,
        patch_size,
        features_base,
        hidden_size,
        num_layers,
        num_heads,
        mlp_dim,
        dropout,
        norm,
        act,
    )


@register_network("swintransunet", divisor=16)
def build_swintransunet(
    in_channels: int,
    out_channels: int,
    patch_size: Sequence[int],
    spacing: Sequence[float] | None = None,
    features_base: int = 32,
    hidden_size: int = 192,
    num_layers: int = 2,
    num_heads: int = 6,
    mlp_dim: int = 768,
    window_size: int = 4,
    dropout: float = 0.0,
    norm: str | LayerT | None = "instance",
    act: str | LayerT | None = "leakyrelu",
) -> nn.Module:
    """SwinTransUNET: the TransUNet CNN encoder/decoder around shifted-window Swin blocks (divisor 16)."""
    return TransUNet(
        in_channels,
        out_channels,
        patch_size,
        features_base,
        hidden_size,
        num_layers,
        num_heads,
        mlp_dim,
        dropout,
        norm,
        act,
        bottleneck="swin",
        window_size=window_size,
    )
