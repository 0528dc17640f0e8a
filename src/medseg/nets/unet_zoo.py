"""Registry entries of the dynamic U-Net family: unet, unet-res (residual encoder), unet-pocket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from medseg.core.topology import DEFAULT_MAX_FEATURES, unet_topology
from medseg.layers import LayerT
from medseg.nets.registry import register_network
from medseg.nets.unet import DynamicUNet, resolve_topology


def adaptive_divisor(
    patch_size: Sequence[int], spacing: Sequence[float] | None, params: dict[str, Any]
) -> tuple[int, ...]:
    """Divisor of the spacing-adaptive topology (axes that are never pooled accept any size)."""
    topology = resolve_topology(
        patch_size,
        spacing,
        int(params.get("features_base", 32)),
        params.get("max_features"),
        params.get("depth"),
        params.get("pool_strides"),
        params.get("conv_kernels"),
        pocket=False,
    )
    return topology.patch_size_divisor


def unet_plan_rule(
    patch_size: Sequence[int], spacing: Sequence[float], width: int, max_poolings: int | None
) -> dict[str, Any]:
    """Width plus the explicit topology of the patch and spacing (written into the Plan)."""
    topology = unet_topology(patch_size, spacing, width, max_poolings=max_poolings)
    return {
        "features_base": width,
        "max_features": DEFAULT_MAX_FEATURES[len(patch_size)],
        "conv_kernels": [list(k) for k in topology.conv_kernels],
        "pool_strides": [list(s) for s in topology.pool_strides],
    }


def _unet_builder(name: str, residual: bool, pocket: bool) -> None:
    @register_network(name, divisor=adaptive_divisor, deep_supervision=True, plan_rule=unet_plan_rule)
    def build(
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        spacing: Sequence[float] | None = None,
        features_base: int = 32,
        max_features: int | None = None,
        depth: int | None = None,
        pool_strides: Sequence[Sequence[int]] | None = None,
        conv_kernels: Sequence[Sequence[int]] | None = None,
        convs_per_stage: int = 2,
        blocks_per_stage: Sequence[int] | None = None,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        deep_supervision: bool = False,
    ) -> nn.Module:
        """Dynamic U-Net (nnU-Net topology from patch size and spacing)."""
        return DynamicUNet(
            in_channels,
            out_channels,
            patch_size,
            spacing,
            features_base=features_base,
            max_features=max_features,
            depth=depth,
            pool_strides=pool_strides,
            conv_kernels=conv_kernels,
            residual=residual,
            pocket=pocket,
            convs_per_stage=convs_per_stage,
            blocks_per_stage=blocks_per_stage,
            norm=norm,
            act=act,
            deep_supervision=deep_supervision,
            name=name,
        )


_unet_builder("unet", residual=False, pocket=False)
_unet_builder("unet-res", residual=True, pocket=False)
_unet_builder("unet-pocket", residual=False, pocket=True)
