"""The lite predictor's output heads, ensembles and fixed-size exports, against the torch side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from medseg.config.plan import NetworkSpec, NormalizationSpec, Plan, RegionSpec
from medseg.inference.export import export_model
from medseg.inference.predictor import Predictor
from medseg.io.state import save_state
from medseg.lite import LitePredictor
from medseg.lite.metadata import ModelFileError
from medseg.lite.predictor import activate
from medseg.nets import create_network


def _plan(**changes: object) -> Plan:
    base: dict[str, object] = {
        "spatial_dims": 2,
        "channel_names": ["x"],
        "labels": {"bg": 0, "a": 1, "b": 2},
        "target_spacing": [1.0, 1.0],
        "normalization": [NormalizationSpec(scheme="zscore")],
        "patch_size": [16, 32],
        "batch_size": 2,
    }
    return Plan.model_validate({**base, **changes})


@pytest.mark.parametrize(
    "plan",
    [
        _plan(),
        _plan(labels={"bg": 0, "fg": 255}, network=NetworkSpec(activation="sigmoid")),
        _plan(
            regions=[RegionSpec(name="whole", labels=[1, 2]), RegionSpec(name="core", labels=[2])],
            network=NetworkSpec(activation="sigmoid"),
        ),
    ],
    ids=["softmax", "sigmoid-binary", "regions"],
)
def test_heads_match_the_torch_predictor(plan: Plan, tmp_path: Path) -> None:
    save_state(tmp_path / "c.safetensors", {"weights": {}}, {"plan": plan.model_dump_json()})
    logits = np.random.default_rng(0).normal(scale=8.0, size=(2, plan.out_channels, 5, 7)).astype(np.float32)
    want = Predictor(tmp_path / "c.safetensors")._activate(torch.from_numpy(logits)).numpy()
    np.testing.assert_allclose(activate(logits, plan), want, rtol=1e-5, atol=1e-6)


def _checkpoint(folder: Path, name: str, params: dict[str, object]) -> Path:
    plan = _plan(network=NetworkSpec(name=name, params=params))
    torch.manual_seed(0)
    net = create_network(name, 1, 3, plan.patch_size, spacing=plan.target_spacing, **params)
    return save_state(
        folder / "checkpoints" / "best.safetensors",
        {"weights": net.state_dict()},
        {"plan": plan.model_dump_json()},
    )


def test_a_transformer_exports_with_a_fixed_patch_and_predicts(tmp_path: Path) -> None:
    """TransUNet's graph fixes the spatial size: the export falls back to a dynamic batch axis only."""
    params = {"features_base": 4, "hidden_size": 16, "num_layers": 1, "num_heads": 2, "mlp_dim": 32}
    checkpoint = _checkpoint(tmp_path / "exp", "transunet", params)
    result = export_model(checkpoint, tmp_path / "t.onnx")
    assert not result.dynamic_spatial and result.max_abs_difference <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(result.model)).metadata_props}
    assert meta["medseg.dynamic_spatial"] == "false"
    shape = [
        d.dim_param or d.dim_value
        for d in onnx.load(str(result.model)).graph.input[0].type.tensor_type.shape.dim
    ]
    assert shape == ["batch", 1, 16, 32]
    image = np.random.default_rng(1).standard_normal((1, 40, 50)).astype(np.float32)
    ours = LitePredictor(result.model, window_batch_size=3).predict_probabilities(image)
    theirs = Predictor(checkpoint, channels_last=False).predict_probabilities(torch.from_numpy(image)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_a_batch_norm_network_exports_in_eval_mode(tmp_path: Path) -> None:
    """CMUNeXt normalises with batch norms: parity holds only if both sides run them in eval mode."""
    checkpoint = _checkpoint(
        tmp_path / "exp", "cmunext", {"features": (4, 8, 8, 8, 8), "depths": (1, 1, 1, 1, 1)}
    )
    result = export_model(checkpoint, tmp_path / "c.onnx")
    assert result.dynamic_spatial and result.max_abs_difference <= 1e-4
    image = np.random.default_rng(3).standard_normal((1, 20, 70)).astype(np.float32)
    ours = LitePredictor(result.model, mirror_axes=()).predict_probabilities(image)
    theirs = Predictor(checkpoint, mirror_axes=(), channels_last=False).predict_probabilities(
        torch.from_numpy(image)
    )
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)


def test_an_ensemble_averages_and_refuses_two_plans(hippocampus_onnx: Path, tmp_path: Path) -> None:
    image = np.random.default_rng(2).standard_normal((1, 30, 40, 30)).astype(np.float32)
    single = LitePredictor(hippocampus_onnx, mirror_axes=()).predict_probabilities(image)
    double = LitePredictor([hippocampus_onnx, hippocampus_onnx], mirror_axes=()).predict_probabilities(image)
    np.testing.assert_allclose(single, double, atol=1e-6)
    other = export_model(
        _checkpoint(tmp_path / "exp", "unet", {"features_base": 4}), tmp_path / "u.onnx"
    ).model
    with pytest.raises(
        ModelFileError, match=r"u\.onnx: its Plan differs from .*hippo\.onnx's in 'spatial_dims'"
    ):
        LitePredictor([hippocampus_onnx, other])
    assert json.loads(onnx.load(str(other)).metadata_props[0].value)["network"]["name"] == "unet"
