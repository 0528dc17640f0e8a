"""Wrapped MONAI networks: same parameters as MONAI's own constructors, same outputs with same weights."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from monai.networks.nets import UNETR, BasicUNetPlusPlus, SwinUNETR, VNet
from monai.networks.nets.mednext import create_mednext
from torch import nn

from medseg.nets import create_network


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _inner(net: nn.Module) -> nn.Module:
    inner = getattr(net, "net", net)
    assert isinstance(inner, nn.Module)
    return inner


def _assert_same_network(ours: nn.Module, reference: nn.Module, patch: tuple[int, ...]) -> None:
    assert _count(ours) == _count(reference)
    _inner(ours).load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    reference.eval()
    x = torch.randn(1, 1, *patch)
    with torch.no_grad():
        expected = reference(x)
        expected = expected[0] if isinstance(expected, list | tuple) else expected
        torch.testing.assert_close(ours(x), expected)


@pytest.mark.parametrize(("variant", "kernel"), [("s", 3), ("b", 5), ("m", 3), ("l", 7)])
def test_mednext_variants_match_monai_factory(variant: str, kernel: int) -> None:
    ours = create_network(f"mednext-{variant}", 1, 2, (16, 32), kernel_size=kernel, deep_supervision=True)
    reference = create_mednext(
        variant.upper(),
        spatial_dims=2,
        in_channels=1,
        out_channels=2,
        kernel_size=kernel,
        deep_supervision=True,
    )
    _assert_same_network(ours, reference, (16, 32))


def test_vnet_matches_monai() -> None:
    ours = create_network("vnet", 1, 3, (16, 16))
    _assert_same_network(ours, VNet(spatial_dims=2, in_channels=1, out_channels=3, dropout_dim=2), (16, 16))


def test_unetr_matches_monai() -> None:
    params: dict[str, Any] = {"hidden_size": 48, "mlp_dim": 64, "num_heads": 4}
    ours = create_network("unetr", 1, 2, (16, 16, 32), features_base=8, **params)
    reference = UNETR(1, 2, img_size=(16, 16, 32), spatial_dims=3, feature_size=8, **params)
    _assert_same_network(ours, reference, (16, 16, 32))


@pytest.mark.parametrize("use_v2", [False, True])
def test_swinunetr_matches_monai(use_v2: bool) -> None:
    ours = create_network("swinunetr", 1, 2, (32, 64), features_base=12, use_v2=use_v2)
    reference = SwinUNETR(1, 2, feature_size=12, spatial_dims=2, use_v2=use_v2)
    _assert_same_network(ours, reference, (32, 64))


def test_unetpp_matches_monai_default_features() -> None:
    ours = create_network("unetpp", 1, 2, (16, 32), deep_supervision=True)
    reference = BasicUNetPlusPlus(spatial_dims=2, in_channels=1, out_channels=2, deep_supervision=True)
    assert _count(ours) == _count(reference)
    _inner(ours).load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 1, 16, 32)
    ours.train()
    reference.train()
    with torch.no_grad():
        expected = reference(x)
        outputs = ours(x)
    assert len(outputs) == 4
    for got, want in zip(outputs, reversed(expected)):  # most refined (x_0_4) first
        torch.testing.assert_close(got, want)
