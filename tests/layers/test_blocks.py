"""Blocks against torch.nn.functional references computed with the same weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from medseg.layers import (
    ConvBlock,
    DeepSupervisionHeads,
    Deferred,
    Downsample,
    LayerT,
    ResidualBlock,
    Upsample,
    act_t,
    norm_t,
)


def _conv_norm_act(block: nn.Sequential, x: torch.Tensor, dims: int, act: bool = True) -> torch.Tensor:
    conv, norm = block[0], block[1]
    fn = F.conv2d if dims == 2 else F.conv3d
    y = fn(x, conv.weight, conv.bias, stride=conv.stride, padding=conv.padding)
    y = F.instance_norm(y, weight=norm.weight, bias=norm.bias)
    return F.leaky_relu(y, 0.01) if act else y


@pytest.mark.parametrize("dims", [2, 3])
def test_conv_block_matches_functional(dims: int) -> None:
    block = ConvBlock(2, 4, spatial_dims=dims, kernel_size=3, stride=2)
    with torch.no_grad():
        block[1].weight.uniform_(0.5, 1.5)
        block[1].bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 2, *([8] * dims))
    out = block(x)
    assert out.shape == (2, 4, *([4] * dims))
    torch.testing.assert_close(out, _conv_norm_act(block, x, dims))


def test_conv_block_anisotropic_kernel_keeps_size() -> None:
    block = ConvBlock(1, 3, spatial_dims=3, kernel_size=(1, 3, 3))
    assert block[0].padding == (0, 1, 1)
    assert block(torch.randn(1, 1, 3, 6, 5)).shape == (1, 3, 3, 6, 5)


def test_conv_block_swaps_norm_and_act() -> None:
    block = ConvBlock(2, 8, spatial_dims=2, norm="group", act="gelu")
    assert isinstance(block[1], nn.GroupNorm) and block[1].num_groups == 8
    assert isinstance(block[2], nn.GELU)
    custom = ConvBlock(
        2, 4, spatial_dims=2, norm=LayerT(nn.BatchNorm2d, num_features=Deferred("channels")), act=None
    )
    assert isinstance(custom[1], nn.BatchNorm2d) and len(custom) == 2
    x = torch.randn(3, 2, 5, 5)
    custom.train()
    y = custom(x)
    conv = custom[0]
    z = F.conv2d(x, conv.weight, conv.bias, padding=1)
    expected = (z - z.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        z.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5
    )
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-4)


def test_unknown_norm_and_act_names() -> None:
    with pytest.raises(ValueError, match=r"norm: unknown 'layer'; valid: instance, batch, group"):
        norm_t("layer", 3)
    with pytest.raises(ValueError, match=r"act: unknown 'elu'; valid: leakyrelu, relu, gelu"):
        act_t("elu")
    with pytest.raises(ValueError, match="spatial_dims must be 2 or 3"):
        ConvBlock(1, 2, spatial_dims=1)


@pytest.mark.parametrize(("in_ch", "stride"), [(4, 1), (2, 2)])
def test_residual_block_is_act_of_branch_plus_shortcut(in_ch: int, stride: int) -> None:
    block = ResidualBlock(in_ch, 4, spatial_dims=2, stride=stride)
    x = torch.randn(2, in_ch, 8, 8)
    branch = _conv_norm_act(block.conv2, _conv_norm_act(block.conv1, x, 2), 2, act=False)
    if in_ch == 4 and stride == 1:
        assert isinstance(block.shortcut, nn.Identity)
        shortcut = x
    else:
        shortcut = _conv_norm_act(block.shortcut, x, 2, act=False)
    torch.testing.assert_close(block(x), F.leaky_relu(branch + shortcut, 0.01))


def test_down_and_upsample_match_functional() -> None:
    x = torch.randn(1, 2, 4, 8, 8)
    down = Downsample(2, 3, spatial_dims=3, stride=(1, 2, 2))
    conv = down[0]
    torch.testing.assert_close(down(x), F.conv3d(x, conv.weight, conv.bias, stride=(1, 2, 2)))
    assert down(x).shape == (1, 3, 4, 4, 4)
    up = Upsample(3, 2, spatial_dims=3, stride=(1, 2, 2))
    y = down(x)
    tconv = up[0]
    torch.testing.assert_close(up(y), F.conv_transpose3d(y, tconv.weight, tconv.bias, stride=(1, 2, 2)))
    assert up(y).shape == x.shape


def test_deep_supervision_heads_are_pointwise_linear_maps() -> None:
    heads = DeepSupervisionHeads([4, 8], out_channels=3, spatial_dims=2)
    features = [torch.randn(2, 4, 6, 6), torch.randn(2, 8, 3, 3)]
    outputs = heads(features)
    for head, f, out in zip(heads.heads, features, outputs):
        expected = torch.einsum("oc,bchw->bohw", head.weight[:, :, 0, 0], f) + head.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match="2 heads but 1 feature maps"):
        heads(features[:1])
