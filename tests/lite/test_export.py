"""``medseg export``: the ONNX model reproduces PyTorch, carries the Plan, and comes with weights and a card."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from medseg.cli.main import main
from medseg.inference.export import ExportError, export_model
from medseg.inference.predictor import Predictor
from medseg.lite.metadata import PLAN_KEY
from medseg.nets import create_network


@pytest.fixture(scope="module")
def exported(hippocampus: dict[str, Path], hippocampus_onnx: Path) -> dict[str, Path]:
    return {"model": hippocampus_onnx, "experiment": hippocampus["experiment"]}


def _torch_net(experiment: Path) -> torch.nn.Module:
    return Predictor(experiment, channels_last=False).networks()[0]


def test_onnx_model_carries_the_checkpoints_plan(exported: dict[str, Path]) -> None:
    model = onnx.load(str(exported["model"]))
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    predictor = Predictor(exported["experiment"])
    assert json.loads(meta[PLAN_KEY]) == json.loads(predictor.plan.model_dump_json())
    assert meta["medseg.dynamic_spatial"] == "true"  # a U-Net takes any multiple of its divisor
    assert float(meta["medseg.parity_max_abs_logit_diff"]) <= 1e-4


def test_onnx_matches_pytorch_with_a_dynamic_batch_and_spatial_size(exported: dict[str, Path]) -> None:
    net = _torch_net(exported["experiment"])
    session = ort.InferenceSession(str(exported["model"]), providers=["CPUExecutionProvider"])
    for shape in [(3, 1, 32, 32, 32), (1, 1, 48, 32, 64)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            want = net(
                x
            ).numpy()  # eval mode: the full-resolution head only, though trained with deep supervision
        got = session.run(None, {"image": x.numpy()})[0]
        assert got.shape == want.shape == (shape[0], 3, *shape[2:])
        assert np.abs(got - want).max() < 1e-4


def test_weights_file_is_a_plain_state_dict(exported: dict[str, Path]) -> None:
    weights = exported["model"].with_suffix(".safetensors")
    state = load_file(str(weights))
    with safe_open(str(weights), framework="np") as handle:
        plan = json.loads(handle.metadata()[PLAN_KEY])
    net = create_network(
        plan["network"]["name"],
        1,
        3,
        plan["patch_size"],
        spacing=plan["target_spacing"],
        deep_supervision=plan["network"]["deep_supervision"],
        **plan["network"]["params"],
    )
    net.load_state_dict(state, strict=True)  # plain PyTorch keys: no medseg state skeleton
    x = torch.randn(1, 1, 32, 32, 32)
    with torch.no_grad():
        assert torch.equal(net.eval()(x), _torch_net(exported["experiment"])(x))


def test_model_card_reports_the_experiments_validation(exported: dict[str, Path]) -> None:
    card = exported["model"].with_suffix(".md").read_text(encoding="utf-8")
    with (exported["experiment"] / "metrics.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["val_score"]]
    best = max(rows, key=lambda r: float(r["val_score"]))
    assert f"validation score {float(best['val_score']):.4f}" in card
    assert f"Anterior {float(best['dice_Anterior']):.4f}" in card
    assert "validation/cases.csv" in card and "| dice_Posterior |" in card
    assert "medseg predict --backend onnxruntime -e hippo.onnx" in card
    assert "Not a medical device" in card
    worst = float(re.search(r"max abs difference ([0-9.e+-]+)", card).group(1))  # type: ignore[union-attr]
    assert worst <= 1e-4
    assert "(preprocessed)" in card  # the training data's preprocessed cases were among the parity inputs


def test_parity_above_the_tolerance_fails_and_writes_nothing(
    hippocampus: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "model.onnx"
    with pytest.raises(
        ExportError, match=r"model.onnx: exported model differs from PyTorch by .* nothing written"
    ):
        export_model(hippocampus["experiment"], out, tolerance=1e-12)
    assert list(tmp_path.iterdir()) == []


def test_user_cases_are_used_for_parity(hippocampus: dict[str, Path], tmp_path: Path) -> None:
    case = sorted(hippocampus["held_out"].iterdir())[0]
    result = export_model(hippocampus["experiment"], tmp_path / "m.onnx", cases=[case])
    assert case.name.removesuffix(".nii.gz") in result.parity
    assert not any("preprocessed" in name for name in result.parity)
    assert result.max_abs_difference <= 1e-4


def test_torch_export_program(hippocampus: dict[str, Path], tmp_path: Path) -> None:
    result = export_model(hippocampus["experiment"], tmp_path / "m.pt2")
    program = torch.export.load(str(result.model)).module()
    x = torch.randn(3, 1, 32, 32, 32)
    with torch.no_grad():
        assert torch.allclose(program(x), _torch_net(hippocampus["experiment"])(x), atol=1e-5)
    assert result.weights.is_file() and "torch.export.load" in result.card.read_text(encoding="utf-8")


def test_bad_suffix_is_one_line(
    hippocampus: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(hippocampus["experiment"]), "-o", str(tmp_path / "m.tflite")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown export format '.tflite'; valid suffixes: .onnx, .pt, .pt2" in err


def test_export_and_backend_flags_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    from medseg.cli.main import build_parser

    for argv in (["export", "--help"], ["predict", "--help"]):
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(argv)
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: medseg export" in out and "--tolerance" in out and "--backend {torch,onnxruntime}" in out


def test_the_parity_limit_grows_with_the_logits_but_not_below_the_tolerance() -> None:
    from medseg.inference.export.parity import ParityInput, max_abs_differences, parity_limit

    batch = np.random.default_rng(0).standard_normal((2, 1, 4, 4, 4))  # float64: the 5e-4 stays exact
    for gain, accepted in ((100.0, True), (0.5, False)):  # the same 5e-4 error on large and small logits
        scales: dict[str, float] = {}
        diffs = max_abs_differences(
            lambda x, g=gain: x * g, lambda x, g=gain: x * g + 5e-4, [ParityInput("case", batch)], scales
        )
        assert scales["case"] == pytest.approx(float(np.abs(batch).max()) * gain, rel=1e-6)
        assert diffs["case"] == pytest.approx(5e-4, rel=1e-3)
        assert (diffs["case"] <= parity_limit(1e-4, scales["case"])) is accepted
    assert parity_limit(1e-4, 0.2) == 1e-4 and parity_limit(1e-4, 20.0) == pytest.approx(2e-3)
