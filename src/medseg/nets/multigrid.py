"""Multigrid U-Nets with constant width: FMG-Net (V-cycles of growing depth) and W-Net (two U-Nets).

Both use the spacing-adaptive topology of :func:`unet_topology` (pocket width) and a *schedule*
of V-cycle peaks. A cycle with peak ``h`` goes down from level 0 to ``h`` (residual block with the
level's stride, plus the level's state from earlier cycles) and back up (transposed conv, concat
with the level's state, two conv blocks), updating each level's state as it passes.

* ``fmgnet``: peaks ``1, 2, ..., D`` (full multigrid: one V-cycle per depth, coarse to fine).
* ``wnet``: peaks ``D, D`` - two full U-Nets in series, the second fed by the first's decoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn
from typing_extensions import override

from medseg.core.topology import unet_topology
from medseg.layers import ConvBlock, DeepSupervisionHeads, LayerT, ResidualBlock, Upsample
from medseg.nets.divisibility import check_patch_size
from medseg.nets.registry import register_network
from medseg.nets.unet_zoo import adaptive_divisor


def cycle_peaks(schedule: str, depth: int) -> list[int]:
    """The V-cycle peaks of ``schedule`` ("fmg" or "w") for ``depth`` poolings."""
    if depth < 1:
        return []
    if schedule == "fmg":
        return list(range(1, depth + 1))
    if schedule == "w":
        return [depth, depth]
    raise ValueError(f"schedule: unknown {schedule!r}; valid: fmg, w")


class MultigridUNet(nn.Module):
    """Constant-width U-Net traversing its levels along a schedule of V-cycles."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        spacing: Sequence[float] | None = None,
        schedule: str = "fmg",
        features_base: int = 32,
        depth: int | None = None,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        deep_supervision: bool = False,
        name: str = "fmgnet",
    ) -> None:
        super().__init__()
        topo = unet_topology(patch_size, spacing, features_base, max_poolings=depth, pocket=True)
        self.patch_size_divisor = topo.patch_size_divisor
        check_patch_size(name, patch_size, topo.patch_size_divisor)
        dims, f, kernels = len(patch_size), features_base, topo.conv_kernels
        self.peaks = cycle_peaks(schedule, len(topo.pool_strides))
        self.deep_supervision = deep_supervision
        self.stem = nn.Sequential(
            ConvBlock(in_channels, f, dims, kernels[0], 1, norm, act),
            ConvBlock(f, f, dims, kernels[0], 1, norm, act),
        )
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for peak in self.peaks:
            self.down.append(
                nn.ModuleList(
                    ResidualBlock(f, f, dims, kernels[level], topo.pool_strides[level - 1], norm, act)
                    for level in range(1, peak + 1)
                )
            )
            self.up.append(
                nn.ModuleList(
                    Upsample(f, f, dims, topo.pool_strides[level]) for level in reversed(range(peak))
                )
            )
            self.merge.append(
                nn.ModuleList(
                    nn.Sequential(
                        ConvBlock(2 * f, f, dims, kernels[level], 1, norm, act),
                        ConvBlock(f, f, dims, kernels[level], 1, norm, act),
                    )
                    for level in reversed(range(peak))
                )
            )
        last_peak = self.peaks[-1] if self.peaks else 0
        self.heads = DeepSupervisionHeads(
            [f] * (max(last_peak, 1) if deep_supervision else 1), out_channels, dims
        )

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        state: dict[int, torch.Tensor] = {0: self.stem(x)}
        outputs: list[torch.Tensor] = [state[0]]
        for cycle, peak in enumerate(self.peaks):
            downs, ups, merges = (
                cast(nn.ModuleList, part[cycle]) for part in (self.down, self.up, self.merge)
            )
            h = state[0]
            for level, down in zip(range(1, peak + 1), downs):
                h = down(h)
                if level in state:
                    h = h + state[level]
                state[level] = h
            outputs = []
            for level, up, merge in zip(reversed(range(peak)), ups, merges):
                h = merge(torch.cat([up(h), state[level]], dim=1))
                state[level] = h
                outputs.append(h)
            outputs.reverse()  # highest resolution first
        if self.deep_supervision and self.training:
            return self.heads(outputs)
        return self.heads.heads[0](outputs[0])


def _depth_rule(
    patch_size: Sequence[int], spacing: Sequence[float], width: int, max_poolings: int | None
) -> dict[str, Any]:
    """Multigrid nets take the U-Net topology from patch and spacing; the planner sets width and depth."""
    return {"features_base": width, "depth": max_poolings}


def _register(name: str, schedule: str) -> None:
    @register_network(name, divisor=adaptive_divisor, deep_supervision=True, plan_rule=_depth_rule)
    def build(
        in_channels: int,
        out_channels: int,
        patch_size: Sequence[int],
        spacing: Sequence[float] | None = None,
        features_base: int = 32,
        depth: int | None = None,
        norm: str | LayerT | None = "instance",
        act: str | LayerT | None = "leakyrelu",
        deep_supervision: bool = False,
    ) -> nn.Module:
        """Multigrid U-Net with the spacing-adaptive topology."""
        return MultigridUNet(
            in_channels,
            out_channels,
            patch_size,
            spacing,
            schedule,
            features_base,
            depth,
            norm,
            act,
            deep_supervision,
            name,
        )


_register("fmgnet", "fmg")
_register("wnet", "w")
