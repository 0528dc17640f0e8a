"""Named choices for convolution, normalisation and activation, each resolved to a LayerT.

Blocks take ``norm`` and ``act`` as one argument each: a name from the tables below, a LayerT
(used as is), or None (no layer). Normalisation LayerTs defer their channel count to the
assemble keyword ``channels``.
"""

from __future__ import annotations

from torch import nn

from medseg.layers.layer_t import Deferred, LayerT

NORMS = ("instance", "batch", "group")
ACTS = ("leakyrelu", "relu", "gelu")
GROUP_NORM_GROUPS = 8


def _check_dims(spatial_dims: int) -> None:
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")


def conv_type(spatial_dims: int, transposed: bool = False) -> type[nn.Module]:
    """``nn.Conv2d``/``nn.Conv3d`` (or the transposed ones) for ``spatial_dims``."""
    _check_dims(spatial_dims)
    if transposed:
        return nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
    return nn.Conv2d if spatial_dims == 2 else nn.Conv3d


def conv_t(spatial_dims: int, transposed: bool = False) -> LayerT:
    """A LayerT of the (transposed) convolution for ``spatial_dims``."""
    return LayerT(conv_type(spatial_dims, transposed))


def norm_t(norm: str | LayerT | None, spatial_dims: int) -> LayerT | None:
    """Resolve ``"instance"|"batch"|"group"`` (affine, channels deferred to ``channels``)."""
    _check_dims(spatial_dims)
    if norm is None or isinstance(norm, LayerT):
        return norm
    channels = Deferred("channels")
    if norm == "instance":
        instance = nn.InstanceNorm2d if spatial_dims == 2 else nn.InstanceNorm3d
        return LayerT(instance, num_features=channels, affine=True)
    if norm == "batch":
        batch = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
        return LayerT(batch, num_features=channels)
    if norm == "group":
        return LayerT(nn.GroupNorm, num_groups=GROUP_NORM_GROUPS, num_channels=channels)
    raise ValueError(f"norm: unknown {norm!r}; valid: {', '.join(NORMS)}, a LayerT or None")


def act_t(act: str | LayerT | None) -> LayerT | None:
    """Resolve ``"leakyrelu"`` (slope 0.01, nnU-Net's), ``"relu"`` or ``"gelu"``."""
    if act is None or isinstance(act, LayerT):
        return act
    if act == "leakyrelu":
        return LayerT(nn.LeakyReLU, negative_slope=0.01, inplace=True)
    if act == "relu":
        return LayerT(nn.ReLU, inplace=True)
    if act == "gelu":
        return LayerT(nn.GELU)
    raise ValueError(f"act: unknown {act!r}; valid: {', '.join(ACTS)}, a LayerT or None")
