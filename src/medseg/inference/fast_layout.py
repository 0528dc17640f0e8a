"""A channels-last inference copy of a network: the fast layout for 2-D/3-D convolutions on the CPU.

oneDNN runs channels-last convolutions several times faster than the default layout on the CPU.
Instance normalisation (nnU-Net's norm) spoils that: ``InstanceNorm3d`` has no channels-last kernel,
so every norm layer converts back and forth, and a channels-last U-Net ends up no faster. Instance
norm is group norm with one channel per group, and ``GroupNorm`` does have a channels-last CPU
kernel, so the copy swaps every ``InstanceNorm{1,2,3}d`` that normalises with the statistics of the
input (``track_running_stats=False``, the usual setting) for an equivalent ``GroupNorm(C, C)``.

Precision: the same weights and the same mathematics, but different kernels. GroupNorm's
channels-last CPU kernel computes the variance as E[x^2] - E[x]^2 in float32, so values move by
about 1e-4 on a U-Net's logits (3e-6 for the plain layout); segmentations do not change in practice.
Results that must match another implementation to 1e-5 should use the plain layout (the default).
Measured speed: docs/benchmarks.md ("Sliding window").
"""

from __future__ import annotations

import copy

import torch
from torch import nn

_INSTANCE_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def instance_norm_as_group_norm(norm: nn.modules.instancenorm._InstanceNorm) -> nn.GroupNorm:
    """A ``GroupNorm(C, C)`` computing what ``norm`` computes (same eps, same affine weights)."""
    if norm.track_running_stats:
        raise ValueError("an instance norm with running statistics is not a group norm in eval mode")
    group = nn.GroupNorm(norm.num_features, norm.num_features, eps=norm.eps, affine=norm.affine)
    if norm.affine:
        group = group.to(norm.weight)  # same device and dtype as the weights it takes over
        with torch.no_grad():
            group.weight.copy_(norm.weight)
            group.bias.copy_(norm.bias)
    return group


def channels_last_copy(module: nn.Module, ndim: int) -> nn.Module:
    """A copy of ``module`` in channels-last layout for ``ndim``-D inputs (2 or 3), with instance norms
    (those without running statistics) swapped for equivalent group norms; ``module`` is unchanged."""
    if ndim not in (2, 3):
        raise ValueError(f"channels-last layouts exist for 2-D and 3-D inputs, not {ndim}-D")
    out = copy.deepcopy(module)
    for parent in list(out.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _INSTANCE_NORMS) and not child.track_running_stats:
                setattr(parent, name, instance_norm_as_group_norm(child))
    layout = torch.channels_last_3d if ndim == 3 else torch.channels_last
    return out.to(memory_format=layout)  # type: ignore[call-overload]
