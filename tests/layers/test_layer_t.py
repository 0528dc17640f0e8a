"""LayerT: deferred keywords, literal strings, signature checks, update/copy, repr."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medseg.layers import Deferred, LayerT


def test_assemble_resolves_deferred_keyword() -> None:
    norm = LayerT(nn.BatchNorm3d, num_features=Deferred("in_ch"), momentum=0.2)
    module = norm.assemble(in_ch=32)
    assert isinstance(module, nn.BatchNorm3d)
    assert module.num_features == 32
    assert module.momentum == 0.2
    assert module.weight.shape == nn.BatchNorm3d(32).weight.shape


def test_positional_and_override_keywords_are_passed_on() -> None:
    conv = LayerT(nn.Conv2d, kernel_size=5, padding_mode="reflect")
    module = conv.assemble(3, 8, kernel_size=3, padding=1)
    reference = nn.Conv2d(3, 8, kernel_size=3, padding=1, padding_mode="reflect")
    assert isinstance(module, nn.Conv2d)
    assert (module.kernel_size, module.padding, module.padding_mode) == (
        reference.kernel_size,
        reference.padding,
        reference.padding_mode,
    )
    assert module.weight.shape == reference.weight.shape


def test_plain_string_is_a_literal() -> None:
    upsample = LayerT(nn.Upsample, mode="bilinear", scale_factor=2)
    module = upsample.assemble()
    assert isinstance(module, nn.Upsample)
    assert module.mode == "bilinear"
    x = torch.arange(4.0).reshape(1, 1, 2, 2)
    expected = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
    torch.testing.assert_close(module(x), expected)


def test_plain_string_equal_to_assemble_keyword_is_rejected() -> None:
    norm = LayerT(nn.BatchNorm2d, num_features="in_ch")
    with pytest.raises(TypeError, match=r"num_features='in_ch'.*Deferred\('in_ch'\)"):
        norm.assemble(in_ch=4)


def test_missing_deferred_value_names_parameter_and_deferred_name() -> None:
    norm = LayerT(nn.GroupNorm, num_groups=2, num_channels=Deferred("channels"))
    with pytest.raises(TypeError, match=r"'num_channels' is deferred to <channels>.*got: in_ch"):
        norm.assemble(in_ch=4)


def test_unknown_stored_keyword_is_rejected_at_construction() -> None:
    with pytest.raises(
        TypeError, match=r"LayerT\(BatchNorm3d\): stored keyword 'num_feature' is not a parameter"
    ):
        LayerT(nn.BatchNorm3d, num_feature=3)


def test_unknown_assemble_keyword_is_rejected() -> None:
    act = LayerT(nn.ReLU)
    with pytest.raises(TypeError, match=r"assemble\(\) keyword 'channels' is not a parameter of ReLU"):
        act.assemble(channels=4)


def test_update_returns_new_and_copy_is_independent() -> None:
    base = LayerT(nn.LeakyReLU, negative_slope=0.01)
    steeper = base.update(negative_slope=0.2)
    assert base.kwargs == {"negative_slope": 0.01}
    assert steeper.assemble().negative_slope == 0.2
    clone = base.copy()
    clone.kwargs["negative_slope"] = 0.5
    assert base.kwargs["negative_slope"] == 0.01
    assert clone != base
    assert base.copy() == base
    with pytest.raises(TypeError, match="not a parameter"):
        base.update(slope=0.1)


def test_repr_shows_deferred_names() -> None:
    norm = LayerT(nn.BatchNorm3d, num_features=Deferred("in_ch"), affine=False)
    assert repr(norm) == "LayerT(BatchNorm3d, num_features=<in_ch>, affine=False)"
    assert norm.deferred_names == {"num_features": "in_ch"}


def test_callable_factory_with_kwargs_is_not_signature_checked() -> None:
    def factory(**kwargs: int) -> nn.Module:
        return nn.Identity(**kwargs)

    assert isinstance(LayerT(factory, anything=1).assemble(), nn.Identity)
