"""The Predictor reads one Plan and nothing else: building, label values, regions, formats, shards, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from medseg.config import NetworkSpec, NormalizationSpec, Plan, RegionSpec
from medseg.data.case import Case
from medseg.inference.predictor import Predictor, find_checkpoint
from medseg.io import Geometry, Image
from medseg.io.state import CheckpointError, save_state
from medseg.nets import create_network


def _plan(**update: object) -> Plan:
    base = Plan(
        spatial_dims=2,
        channel_names=["x"],
        labels={"background": 0, "vessel": 255},
        target_spacing=[1.0, 1.0],
        normalization=[NormalizationSpec(scheme="none")],
        patch_size=[16, 16],
        batch_size=2,
        network=NetworkSpec(name="unet", params={"features_base": 4}, deep_supervision=True),
    )
    return Plan.model_validate({**base.model_dump(), **update})  # validated: region paints are filled in


def _checkpoint(path: Path, plan: Plan, bias: torch.Tensor | None = None) -> Path:
    torch.manual_seed(0)
    net = create_network(
        plan.network.name,
        1,
        plan.out_channels,
        plan.patch_size,
        plan.target_spacing,
        deep_supervision=plan.network.deep_supervision,
        **plan.network.params,
    )
    if bias is not None:  # the head decides alone: zero weights, a fixed bias per output
        for name, p in net.named_parameters():
            if name.startswith("heads.heads.0."):
                with torch.no_grad():
                    p.zero_()
                    if name.endswith("bias"):
                        p.copy_(bias)
    return save_state(
        path, {"weights": net.state_dict()}, {"format": "medseg-checkpoint-2", "plan": plan.model_dump_json()}
    )


def _case(values: np.ndarray) -> Case:
    return Case("img", Image(values[None].astype(np.float32), Geometry.from_array_spacing([1.0, 1.0])))


def test_label_values_of_the_plan_come_back(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "a.safetensors", _plan(), bias=torch.tensor([-5.0, 5.0]))
    out = Predictor(ckpt, mirror_axes=()).predict_case(_case(np.zeros((20, 24))))
    assert out.array.dtype == np.uint8 and set(np.unique(out.array)) == {255}  # class 1 is the value 255


def test_regions_are_painted_in_order(tmp_path: Path) -> None:
    plan = _plan(
        labels={"background": 0, "a": 1, "b": 2},
        regions=[RegionSpec(name="whole", labels=[1, 2]), RegionSpec(name="core", labels=[2])],
        network=NetworkSpec(
            name="unet", params={"features_base": 4}, deep_supervision=True, activation="sigmoid"
        ),
    )
    assert [r.paint for r in plan.regions or []] == [1, 2]
    both = _checkpoint(tmp_path / "both.safetensors", plan, bias=torch.tensor([5.0, 5.0]))
    assert set(np.unique(Predictor(both, mirror_axes=()).predict_case(_case(np.zeros((16, 16)))).array)) == {
        2
    }
    outer = _checkpoint(tmp_path / "outer.safetensors", plan, bias=torch.tensor([5.0, -5.0]))
    assert set(np.unique(Predictor(outer, mirror_axes=()).predict_case(_case(np.zeros((16, 16)))).array)) == {
        1
    }


def test_predictions_of_png_inputs_are_png_and_shards_split_the_cases(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "a.safetensors", _plan(), bias=torch.tensor([5.0, -5.0]))
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(5):
        PILImage.fromarray(np.full((20, 18), 40 * i, dtype=np.uint8)).save(inputs / f"case{i}.png")
    predictor = Predictor(ckpt, mirror_axes=())
    first = [cid for cid, _ in predictor.predict(inputs, tmp_path / "out", shard=(0, 2))]
    second = [cid for cid, _ in predictor.predict(inputs, tmp_path / "out", shard=(1, 2))]
    assert sorted(first + second) == [f"case{i}" for i in range(5)] and not set(first) & set(second)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"case{i}.png" for i in range(5)]
    assert np.asarray(PILImage.open(tmp_path / "out" / "case3.png")).shape == (20, 18)


def test_checkpoints_of_different_plans_are_refused_with_the_field_named(tmp_path: Path) -> None:
    a = _checkpoint(tmp_path / "a.safetensors", _plan())
    b = _checkpoint(tmp_path / "b.safetensors", _plan(patch_size=[32, 32]))
    with pytest.raises(
        CheckpointError,
        match=r"b\.safetensors: its Plan differs from .*a\.safetensors's in "
        r"'patch_size' \(\[32, 32\] vs \[16, 16\]\)",
    ):
        Predictor([a, b])


def test_a_checkpoint_without_a_plan_is_one_line(tmp_path: Path) -> None:
    path = save_state(tmp_path / "x.safetensors", {"weights": {}}, {"format": "other"})
    with pytest.raises(CheckpointError, match=r"x\.safetensors: checkpoint has no embedded Plan"):
        Predictor(path)
    bad = save_state(tmp_path / "y.safetensors", {"weights": {}}, {"plan": json.dumps({"version": 1})})
    with pytest.raises(CheckpointError, match=r"y\.safetensors: embedded Plan is invalid"):
        Predictor(bad)


def test_find_checkpoint_in_an_experiment_folder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    latest = _checkpoint(folder / "checkpoints" / "latest.safetensors", _plan())
    assert find_checkpoint(folder, "latest") == latest
    with pytest.raises(CheckpointError, match="no such checkpoint file or experiment folder"):
        find_checkpoint(tmp_path / "nothing", "best")
