"""Checkpoint averaging (medseg.training.averaging) and loss targets / class masks from the Plan's head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from medseg.config import NetworkSpec, NormalizationSpec, Plan
from medseg.config.plan import RegionSpec
from medseg.io.state import CheckpointError, load_state, save_state
from medseg.training.averaging import average_checkpoints
from medseg.training.targets import class_masks, loss_target


def _checkpoint(path: Path, seed: int, plan: str = "plan-a") -> tuple[Path, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    weights = {
        "conv.weight": torch.randn(4, 2, 3, 3, generator=g),
        "norm.running_mean": torch.randn(4, generator=g),
        "norm.num_batches_tracked": torch.tensor(10 * (seed + 1)),
    }
    return save_state(path, {"weights": weights}, {"plan": plan, "network": "unet"}), weights


def test_two_different_checkpoints_average_to_their_elementwise_mean(tmp_path: Path) -> None:
    (a, wa), (b, wb) = _checkpoint(tmp_path / "a.safetensors", 0), _checkpoint(tmp_path / "b.safetensors", 1)
    assert not torch.allclose(wa["conv.weight"], wb["conv.weight"])  # two different networks
    out = average_checkpoints([a, b], tmp_path / "mean.safetensors")
    state, meta = load_state(out)
    for key in ("conv.weight", "norm.running_mean"):
        expected = (wa[key].numpy().astype(np.float64) + wb[key].numpy()) / 2
        np.testing.assert_allclose(state["weights"][key].numpy(), expected, rtol=1e-6)
    assert int(state["weights"]["norm.num_batches_tracked"]) == 15  # integer buffers: rounded mean of 10, 20
    assert state["weights"]["norm.num_batches_tracked"].dtype == torch.int64
    assert meta["plan"] == "plan-a" and meta["kind"] == "averaged"


def test_checkpoints_of_different_plans_or_no_checkpoint_are_refused(tmp_path: Path) -> None:
    a, _ = _checkpoint(tmp_path / "a.safetensors", 0)
    b, _ = _checkpoint(tmp_path / "b.safetensors", 1, plan="plan-b")
    with pytest.raises(CheckpointError, match="network or Plan differs"):
        average_checkpoints([a, b], tmp_path / "mean.safetensors")
    assert not (tmp_path / "mean.safetensors").exists()
    with pytest.raises(CheckpointError, match="at least one checkpoint"):
        average_checkpoints([], tmp_path / "mean.safetensors")


def _plan(activation: str, labels: dict[str, int], regions: list[RegionSpec] | None = None) -> Plan:
    return Plan(
        spatial_dims=2,
        channel_names=["ct"],
        labels=labels,
        regions=regions,
        target_spacing=[1.0, 1.0],
        normalization=[NormalizationSpec(scheme="zscore")],
        patch_size=[8, 8],
        batch_size=2,
        network=NetworkSpec(name="unet", params={}, activation=activation),
    )


LABEL = torch.tensor([[[[0, 1, 2, 2], [0, 0, 1, 2]]]])  # (B=1, 1, 2, 4), values 0..2


def test_regions_give_one_float_channel_per_region_and_nested_masks() -> None:
    plan = _plan(
        "sigmoid",
        {"background": 0, "edema": 1, "core": 2},
        [RegionSpec(name="whole", labels=[1, 2]), RegionSpec(name="core", labels=[2])],
    )
    target = loss_target(LABEL, plan)
    assert target.shape == (1, 2, 2, 4) and target.dtype == torch.float32
    np.testing.assert_array_equal(target[0, 0].numpy(), (LABEL[0, 0] > 0).numpy())
    np.testing.assert_array_equal(target[0, 1].numpy(), (LABEL[0, 0] == 2).numpy())
    logits = torch.where(target > 0, 3.0, -3.0)
    pred, ref = class_masks(logits, LABEL[0], plan)
    assert torch.equal(pred, ref)


def test_softmax_keeps_indices_and_masks_follow_the_argmax() -> None:
    plan = _plan("softmax", {"background": 0, "a": 1, "b": 2})
    assert torch.equal(loss_target(LABEL, plan), LABEL)
    logits = torch.nn.functional.one_hot(LABEL[0, 0], 3).permute(2, 0, 1)[None].float()
    pred, ref = class_masks(logits, LABEL[0], plan)
    assert pred.shape == (2, 2, 4)  # the two foreground classes
    assert torch.equal(pred, ref)
    assert torch.equal(ref[1], LABEL[0, 0] == 2)


def test_binary_sigmoid_target_is_the_foreground() -> None:
    plan = _plan("sigmoid", {"background": 0, "vessel": 1})
    binary = (LABEL > 0).long()
    target = loss_target(binary, plan)
    assert target.dtype == torch.float32 and torch.equal(target, binary.float())
    pred, ref = class_masks(torch.full((1, 1, 2, 4), -1.0), binary[0], plan)
    assert not pred.any() and torch.equal(ref[0], binary[0, 0] > 0)
