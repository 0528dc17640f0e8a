"""Dynamic U-Net topology: hand-computed nnU-Net cases and a structural match with MONAI's DynUNet."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from monai.networks.nets import DynUNet
from torch import nn

from medseg.nets import DynamicUNet, create_network, required_divisor, unet_topology


def test_hippocampus_like_isotropic_patch() -> None:
    topo = unet_topology((40, 56, 40), (1.0, 1.0, 1.0))
    # 40 -> 20 -> 10 -> 5 and 56 -> 28 -> 14 -> 7: a fourth pooling would leave < 4 voxels.
    assert topo.pool_strides == ((2, 2, 2),) * 3
    assert topo.conv_kernels == ((3, 3, 3),) * 4
    assert topo.features == (32, 64, 128, 256)
    assert topo.patch_size_divisor == (8, 8, 8)


def test_anisotropic_spacing_pools_in_plane_first_with_flat_kernel() -> None:
    topo = unet_topology((20, 160, 160), (3.0, 0.8, 0.8))
    # 3 / 0.8 >= 2: no pooling and kernel 1 on z; then 3 / 1.6 < 2: z joins; z stops at 5 voxels.
    assert topo.pool_strides[0] == (1, 2, 2)
    assert topo.conv_kernels[0] == (1, 3, 3)
    assert topo.pool_strides[1:] == ((2, 2, 2), (2, 2, 2), (1, 2, 2), (1, 2, 2))
    assert topo.conv_kernels[1:] == ((3, 3, 3),) * 5
    assert topo.features == (32, 64, 128, 256, 320, 320)
    assert topo.patch_size_divisor == (4, 32, 32)


def test_single_axis_needs_three_times_min_feature_map() -> None:
    # z, y cannot pool (4 < 8); x = 20 >= 12 pools once, then 10 < 12 stops.
    assert unet_topology((4, 4, 20)).pool_strides == ((1, 1, 2),)
    # all pool once; then only x = 12 is left and 12 >= 12 allows it.
    assert unet_topology((8, 8, 24)).pool_strides == ((2, 2, 2), (1, 1, 2))


def test_2d_caps_features_and_poolings() -> None:
    topo = unet_topology((512, 512), (0.5, 0.5))
    assert len(topo.pool_strides) == 6
    assert topo.features == (32, 64, 128, 256, 512, 512, 512)
    assert topo.patch_size_divisor == (64, 64)
    assert unet_topology((512, 512), max_poolings=3, features_base=8, pocket=True).features == (8,) * 4


def test_tiny_patch_has_no_pooling() -> None:
    topo = unet_topology((6, 6, 6))
    assert topo.pool_strides == () and topo.conv_kernels == ((3, 3, 3),)
    assert topo.patch_size_divisor == (1, 1, 1)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="2 or 3 axes"):
        unet_topology((8,))
    with pytest.raises(ValueError, match="spacing must be 3 positive values"):
        unet_topology((8, 8, 8), (1.0, 0.0, 1.0))


def _layer_signature(net: nn.Module) -> Counter[tuple[str, tuple[int, ...]]]:
    found: Counter[tuple[str, tuple[int, ...]]] = Counter()
    for module in net.modules():
        if isinstance(module, nn.Conv3d | nn.ConvTranspose3d):
            found[(type(module).__name__, tuple(module.weight.shape))] += 1
        elif isinstance(module, nn.InstanceNorm3d):
            found[("norm", (module.num_features,))] += 1
    return found


def test_same_layers_as_monai_dynunet_for_isotropic_patch() -> None:
    topo = unet_topology((32, 32, 32), features_base=4)
    ours = DynamicUNet(1, 2, (32, 32, 32), features_base=4, deep_supervision=True)
    reference = DynUNet(
        3,
        1,
        2,
        kernel_size=topo.conv_kernels,
        strides=[(1, 1, 1), *topo.pool_strides],
        upsample_kernel_size=topo.pool_strides,
        filters=topo.features,
        deep_supervision=True,
        deep_supr_num=len(topo.pool_strides) - 1,
    )
    assert _layer_signature(ours) == _layer_signature(reference)


def test_network_follows_topology_and_divisor() -> None:
    net = create_network(
        "unet", 1, 3, (20, 48, 48), spacing=(3.0, 0.8, 0.8), features_base=4, deep_supervision=True
    )
    assert net.patch_size_divisor == required_divisor("unet", (20, 48, 48), (3.0, 0.8, 0.8)) == (4, 8, 8)
    first_conv = next(m for m in net.modules() if isinstance(m, nn.Conv3d))
    assert first_conv.kernel_size == (1, 3, 3)
    net.train()
    outputs = net(torch.randn(1, 1, 20, 48, 48))
    assert [tuple(o.shape) for o in outputs] == [(1, 3, 20, 48, 48), (1, 3, 20, 24, 24), (1, 3, 10, 12, 12)]


def test_explicit_pool_strides_override_topology() -> None:
    net = create_network("unet", 1, 2, (12, 16), pool_strides=[[1, 2], [3, 2]], features_base=4)
    assert net.patch_size_divisor == (3, 4)
    assert net(torch.randn(1, 1, 12, 16)).shape == (1, 2, 12, 16)
    with pytest.raises(ValueError, match="conv_kernels needs 3 entries"):
        create_network("unet", 1, 2, (12, 16), pool_strides=[[1, 2], [3, 2]], conv_kernels=[[3, 3]])
