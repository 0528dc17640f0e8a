"""Mirror TTA and ensembles against manual means of the same predictions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medseg.inference.activation import probabilities_to_labels, to_probabilities
from medseg.inference.ensemble import ensemble_probabilities
from medseg.inference.tta import mirror_subsets, mirror_tta


def _asymmetric_net(ndim: int = 3, out_channels: int = 3) -> nn.Module:
    """A conv net with random (so not flip-symmetric) kernels: flips change its prediction."""
    conv = nn.Conv3d if ndim == 3 else nn.Conv2d
    return nn.Sequential(conv(1, 4, 3, padding=1), nn.Tanh(), conv(4, out_channels, 3, padding=1)).eval()


def test_mirror_subsets_lists_every_subset_once() -> None:
    assert mirror_subsets([0, 2]) == [(), (0,), (2,), (0, 2)]
    assert len(mirror_subsets([0, 1, 2])) == 8
    assert mirror_subsets([]) == [()]


def test_mirror_tta_equals_manual_mean_over_all_flips() -> None:
    net = _asymmetric_net()
    x = torch.randn(2, 1, 6, 7, 5)
    with torch.no_grad():
        manual = torch.zeros(2, 3, 6, 7, 5)
        for dims in [(), (2,), (3,), (4,), (2, 3), (2, 4), (3, 4), (2, 3, 4)]:
            logits = net(torch.flip(x, dims))
            manual += torch.flip(torch.softmax(logits, dim=1), dims)
        manual /= 8
        plain = torch.softmax(net(x), dim=1)
    result = mirror_tta(net, x)
    torch.testing.assert_close(result, manual, rtol=1e-6, atol=1e-6)
    assert float((result - plain).abs().max()) > 1e-3  # the net is not flip-equivariant
    torch.testing.assert_close(result.sum(dim=1), torch.ones(2, 6, 7, 5), rtol=1e-6, atol=1e-6)


def test_mirror_tta_subset_of_axes_and_explicit_subsets() -> None:
    net = _asymmetric_net(ndim=2)
    x = torch.randn(1, 1, 8, 9)
    with torch.no_grad():
        manual = (torch.sigmoid(net(x)) + torch.flip(torch.sigmoid(net(torch.flip(x, [3]))), [3])) / 2
    torch.testing.assert_close(mirror_tta(net, x, axes=[1], activation="sigmoid"), manual)
    torch.testing.assert_close(mirror_tta(net, x, subsets=[(), (1,)], activation="sigmoid"), manual)


def test_mirror_tta_of_identity_with_no_activation_leaves_input_alone() -> None:
    x = torch.randn(1, 2, 5, 4)
    original = x.clone()
    out = mirror_tta(lambda t: t, x, activation="none")
    torch.testing.assert_close(out, original)  # flipping an identity and back changes nothing
    assert torch.equal(x, original)


def test_mirror_tta_rejects_bad_axes() -> None:
    with pytest.raises(ValueError, match="not a spatial axis"):
        mirror_tta(lambda t: t, torch.zeros(1, 1, 4, 4), axes=[2])
    with pytest.raises(ValueError, match="activation"):
        mirror_tta(lambda t: t, torch.zeros(1, 1, 4, 4), activation="relu")


def test_ensemble_of_models_equals_weighted_manual_mean() -> None:
    nets = [_asymmetric_net(ndim=2) for _ in range(3)]
    x = torch.randn(2, 1, 6, 5)
    with torch.no_grad():
        probs = [torch.softmax(n(x), dim=1) for n in nets]
    weights = [1.0, 2.0, 0.5]
    manual = sum(w * p for w, p in zip(weights, probs, strict=True)) / 3.5
    torch.testing.assert_close(ensemble_probabilities(nets, x, weights), manual)
    torch.testing.assert_close(ensemble_probabilities(nets, x), sum(probs) / 3)


def test_ensemble_mixes_probability_maps_and_predictors_and_returns_labels() -> None:
    net = _asymmetric_net(ndim=2, out_channels=2)
    x = torch.randn(1, 1, 5, 5)
    with torch.no_grad():
        from_net = torch.softmax(net(x), dim=1)
    given = torch.rand(1, 2, 5, 5)
    given = given / given.sum(dim=1, keepdim=True)
    mean = (from_net + given) / 2
    torch.testing.assert_close(ensemble_probabilities([net, given], x), mean)
    labels = ensemble_probabilities([net, given], x, output="labels")
    assert torch.equal(labels, mean.argmax(dim=1))


def test_ensemble_of_tta_closures_is_mean_of_tta_results() -> None:
    nets = [_asymmetric_net(ndim=2) for _ in range(2)]
    x = torch.randn(1, 1, 6, 6)
    members = [lambda t, n=n: torch.log(mirror_tta(n, t)) for n in nets]  # log-probs through softmax
    expected = (mirror_tta(nets[0], x) + mirror_tta(nets[1], x)) / 2
    torch.testing.assert_close(ensemble_probabilities(members, x), expected, rtol=1e-5, atol=1e-6)


def test_ensemble_errors_are_one_line_and_named() -> None:
    with pytest.raises(ValueError, match="inputs are required"):
        ensemble_probabilities([lambda t: t])
    with pytest.raises(ValueError, match="weights has 1 values for 2"):
        ensemble_probabilities([torch.ones(1, 2, 3), torch.ones(1, 2, 3)], weights=[1.0])
    with pytest.raises(ValueError, match="member 1 gives shape"):
        ensemble_probabilities([torch.ones(1, 2, 3), torch.ones(1, 2, 4)])


def test_sigmoid_labels_threshold_each_channel() -> None:
    logits = torch.tensor([[[-1.0, 2.0]], [[3.0, -4.0]]]).reshape(1, 2, 2)
    probs = to_probabilities(logits, "sigmoid")
    assert torch.equal(probabilities_to_labels(probs, "sigmoid"), torch.tensor([[[0, 1], [1, 0]]]))
