"""Every registered network in 2D and 3D: shapes, gradients, deep supervision, size errors."""

from __future__ import annotations

import itertools
from typing import Any

import monai.networks.nets  # noqa: F401  (imported once at collection, not inside the first timed test)
import pytest
import torch
from torch import nn

from medseg.nets import available_networks, create_network, network_entry, register_network, required_divisor

# Small widths so that every forward/backward stays well under a second on one core.
SMALL: dict[str, dict[str, Any]] = {
    "unet": {"features_base": 4},
    "unet-res": {"features_base": 4, "blocks_per_stage": (1, 2)},
    "unet-pocket": {"features_base": 4},
    "fmgnet": {"features_base": 4},
    "wnet": {"features_base": 4},
    "unetpp": {"features_base": 4},
    "vnet": {"dropout_prob": 0.0},
    "unetr": {"features_base": 4, "hidden_size": 24, "mlp_dim": 32, "num_heads": 2},
    "swinunetr": {"features_base": 12, "depths": (1, 1, 1, 1), "num_heads": (3, 3, 3, 3)},
    "mednext-s": {"features_base": 4, "kernel_size": 3},
    "mednext-b": {"features_base": 4, "kernel_size": 5},
    "mednext-m": {"features_base": 4, "kernel_size": 3},
    "mednext-l": {"features_base": 4, "kernel_size": 7},
    "cmunext": {"features": (4, 8, 8, 8, 8), "depths": (1, 1, 1, 1, 1)},
    "transunet": {"features_base": 4, "hidden_size": 16, "num_layers": 1, "num_heads": 2, "mlp_dim": 32},
    "swintransunet": {"features_base": 4, "hidden_size": 24, "num_layers": 2, "num_heads": 2, "mlp_dim": 48},
    "swinunetr-small": {"features_base": 12, "depths": (1, 1, 1, 1), "num_heads": (3, 3, 3, 3)},
    "swinunetr-base": {"features_base": 12, "depths": (1, 1, 1, 1), "num_heads": (3, 3, 3, 3)},
    "swinunetr-large": {"features_base": 12, "depths": (1, 1, 1, 1), "num_heads": (3, 3, 3, 3)},
}
# Smallest valid patches (non-square in 2D); the unet family pools only axes >= 8 voxels.
MIN_2D = {
    "unet": (8, 24),
    "unet-res": (8, 24),
    "unet-pocket": (8, 24),
    "fmgnet": (8, 24),
    "wnet": (8, 24),
    "swinunetr": (32, 64),
    "swinunetr-small": (32, 64),
    "swinunetr-base": (32, 64),
    "swinunetr-large": (32, 64),
    "unetpp": (16, 32),
    "mednext-s": (16, 32),
    "mednext-b": (16, 32),
    "mednext-m": (16, 32),
    "mednext-l": (16, 32),
}
MIN_3D = {
    "unet": (8, 8, 16),
    "unet-res": (8, 8, 16),
    "unet-pocket": (8, 8, 16),
    "fmgnet": (8, 8, 16),
    "wnet": (8, 8, 16),
    "swinunetr": (32, 32, 64),
    "swinunetr-small": (32, 32, 64),
    "swinunetr-base": (32, 32, 64),
    "swinunetr-large": (32, 32, 64),
    "unetpp": (16, 16, 32),
    "mednext-s": (16, 16, 32),
    "mednext-b": (16, 16, 32),
    "mednext-m": (16, 16, 32),
    "mednext-l": (16, 16, 32),
}
DS_NETS = ["unet", "unet-res", "unet-pocket", "fmgnet", "wnet", "unetpp", "mednext-s"]


def test_all_required_networks_are_registered() -> None:
    assert set(SMALL) == set(available_networks())


def _first_conv(net: nn.Module) -> nn.Module:
    return next(m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Conv3d))


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_forward_shape_and_gradient_reaches_first_layer(name: str, dims: int) -> None:
    patch = (MIN_2D if dims == 2 else MIN_3D).get(name, (16, 32) if dims == 2 else (16, 16, 16))
    net = create_network(name, 1, 3, patch, **SMALL[name])
    assert all(p % d == 0 for p, d in zip(patch, net.patch_size_divisor))
    net.train()
    x = torch.randn(2, 1, *patch)
    out = net(x)
    assert isinstance(out, torch.Tensor)
    assert out.shape == (2, 3, *patch)
    out.square().mean().backward()
    grad = _first_conv(net).weight.grad
    assert grad is not None and grad.abs().sum() > 0


@pytest.mark.parametrize("name", DS_NETS)
def test_deep_supervision_list_in_training_tensor_in_eval(name: str) -> None:
    patch = (16, 32)
    net = create_network(name, 1, 2, patch, deep_supervision=True, **SMALL[name])
    x = torch.randn(2, 1, *patch)
    net.train()
    outputs = net(x)
    assert isinstance(outputs, list) and len(outputs) > 1
    sizes = [tuple(o.shape[2:]) for o in outputs]
    assert sizes[0] == patch
    assert all(
        a[0] >= b[0] and a[1] >= b[1] for a, b in itertools.pairwise(sizes)
    )  # highest resolution first
    net.eval()
    with torch.no_grad():
        logits = net(x)
    assert isinstance(logits, torch.Tensor)
    torch.testing.assert_close(logits, outputs[0].detach())  # instance/group norm: same in train and eval


def test_unet_deep_supervision_shapes_follow_strides() -> None:
    net = create_network(
        "unet", 1, 2, (16, 32), pool_strides=[[1, 2], [2, 2], [2, 2]], features_base=4, deep_supervision=True
    )
    assert [tuple(o.shape[2:]) for o in net(torch.randn(1, 1, 16, 32))] == [(16, 32), (16, 16), (8, 8)]


def test_odd_size_on_an_axis_that_is_never_pooled() -> None:
    for name in ("unet", "unet-res", "fmgnet", "wnet"):
        net = create_network(name, 2, 2, (5, 24, 20), spacing=(4.0, 1.0, 1.0), **SMALL[name])
        assert net.patch_size_divisor == (1, 4, 4)
        assert net(torch.randn(1, 2, 5, 24, 20)).shape == (1, 2, 5, 24, 20)


INVALID = {name: ((48, 40, 48), 1, 16, 32, 48) for name in SMALL}
INVALID.update(
    {name: ((36, 40, 40), 0, 8, 32, 40) for name in ("unet", "unet-res", "unet-pocket", "fmgnet", "wnet")}
)
for _swin in ("swinunetr", "swinunetr-small", "swinunetr-base", "swinunetr-large"):
    INVALID[_swin] = ((64, 72, 64), 1, 32, 64, 96)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_invalid_patch_size_names_axis_and_nearest_sizes(name: str) -> None:
    patch, axis, divisor, lower, upper = INVALID[name]
    assert required_divisor(name, patch)[axis] == divisor
    message = (
        f"{name}: patch_size axis {axis} = {patch[axis]} is not divisible by {divisor}; "
        f"nearest valid sizes: {lower} (lower) or {upper} (upper)"
    )
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_network(name, 1, 2, patch, **SMALL[name])


@pytest.mark.parametrize(
    ("name", "patch"), [("swinunetr", (32, 32)), ("unetpp", (16, 16, 16)), ("mednext-m", (16, 16))]
)
def test_one_voxel_bottleneck_is_rejected(name: str, patch: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=rf"{name}: patch_size \[{patch[0]}, .*gives a 1-voxel bottleneck"):
        create_network(name, 1, 2, patch, **SMALL[name])


def test_create_network_rejects_bad_requests() -> None:
    with pytest.raises(ValueError, match=r"network: unknown 'unet3'; valid: cmunext, fmgnet"):
        create_network("unet3", 1, 2, (16, 16))
    with pytest.raises(
        ValueError, match=r"network 'vnet': unknown parameter 'features_base'; valid: dropout_prob"
    ):
        create_network("vnet", 1, 2, (16, 16), features_base=8)
    with pytest.raises(ValueError, match="network 'vnet' has no deep supervision"):
        create_network("vnet", 1, 2, (16, 16), deep_supervision=True)
    with pytest.raises(ValueError, match=r"spacing \[1.0, 1.0\] must have 3 values"):
        create_network("unet", 1, 2, (16, 16, 16), spacing=[1.0, 1.0])
    with pytest.raises(ValueError, match="patch_size \\[16\\] is 1D but the network supports 2D or 3D"):
        create_network("unet", 1, 2, (16,))
    with pytest.raises(ValueError, match="kernel_size=4 must be 3, 5 or 7"):
        create_network("mednext-s", 1, 2, (16, 32), kernel_size=4)
    with pytest.raises(ValueError, match="in_channels=3 must divide 16"):
        create_network("vnet", 3, 2, (16, 16))
    # A network without deep supervision accepts deep_supervision=False (the trainer always passes it).
    assert (
        create_network("transunet", 1, 2, (16, 16), deep_supervision=False, **SMALL["transunet"]) is not None
    )


def test_register_network_adds_a_name_with_its_divisor() -> None:
    @register_network("test-identity-conv", divisor=4, spatial_dims=(2,))
    def build(in_channels: int, out_channels: int, patch_size: Any, spacing: Any = None) -> nn.Module:
        return nn.Conv2d(in_channels, out_channels, 1)

    try:
        assert "test-identity-conv" in available_networks()
        assert required_divisor("test-identity-conv", (8, 12)) == (4, 4)
        assert create_network("test-identity-conv", 1, 2, (8, 12)).patch_size_divisor == (4, 4)
        with pytest.raises(ValueError, match="supports 2D"):
            create_network("test-identity-conv", 1, 2, (8, 8, 8))
        with pytest.raises(ValueError, match="already registered"):
            register_network("test-identity-conv", divisor=1)(build)
    finally:
        from medseg.nets import registry

        registry._REGISTRY.pop("test-identity-conv")
    assert network_entry("unet").deep_supervision and not network_entry("vnet").deep_supervision


def test_transunet_runs_on_a_larger_window_by_resizing_positions() -> None:
    net = create_network("transunet", 1, 2, (32, 32), **SMALL["transunet"]).eval()
    assert net.num_tokens == 4
    with torch.no_grad():
        assert net(torch.randn(1, 1, 32, 48)).shape == (1, 2, 32, 48)


def test_residual_encoder_block_counts_and_pocket_width() -> None:
    from medseg.layers import ResidualBlock

    res = create_network("unet-res", 1, 2, (32, 32), features_base=4, blocks_per_stage=(1, 2, 3))
    assert len(res.topology.pool_strides) == 3  # 32 -> 16 -> 8 -> 4
    assert sum(isinstance(m, ResidualBlock) for m in res.modules()) == 1 + 2 + 3 + 3
    pocket = create_network("unet-pocket", 1, 2, (32, 32), features_base=4)
    convs = [m for m in pocket.modules() if isinstance(m, nn.Conv2d)]
    assert {m.out_channels for m in convs[:-1]} == {4}
