"""The lite predictor where torch cannot be imported: the same label maps as the torch Predictor.

``medseg predict --backend onnxruntime`` runs in a subprocess whose ``sys.modules`` makes every import
of torch (and MONAI, safetensors, pandas, matplotlib, cc3d, edt) fail before anything else is imported, on the demo's 8
held-out cases of the embedded sample (3D, mirror TTA along one axis to keep it short) and on an ISBI membrane image (2D PNG, label
values 0/255). Its files must match the torch Predictor's: Dice >= 0.999 per label and case, where
every foreground label is predicted in every case (``dice_per_label`` only scores labels present in
either map, so a label predicted nowhere would otherwise go unchecked).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import medseg
from medseg.cli.main import main
from medseg.data.sample import sample_path
from medseg.inference.predictor import Predictor
from medseg.lite import LitePredictor

#: what a torch-free install lacks: the training stack and the packages only training/evaluation use
#: (docs/deploy.md lists what the lite path does need)
ABSENT = ("torch", "monai", "safetensors", "pandas", "matplotlib", "cc3d", "edt")
NO_TORCH = (
    f"import sys, runpy; sys.modules.update(dict.fromkeys({ABSENT!r})); "
    "sys.argv = ['medseg', *sys.argv[1:]]; runpy.run_module('medseg.cli.main', run_name='__main__')"
)


def run_without_torch(*args: str) -> subprocess.CompletedProcess[str]:
    """``medseg ARGS`` in a fresh interpreter where importing torch fails."""
    src = str(Path(medseg.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def dice_per_label(a: np.ndarray, b: np.ndarray) -> dict[int, float]:
    """Dice of every nonzero value present in either map (1.0 when both lack it)."""
    out = {}
    for value in sorted((set(np.unique(a)) | set(np.unique(b))) - {0}):
        x, y = a == value, b == value
        out[int(value)] = 2.0 * float((x & y).sum()) / max(float(x.sum() + y.sum()), 1.0)
    return out


def _read(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def _compare(
    experiment: Path, model: Path, images: Path, tmp: Path, tta: bool
) -> dict[str, dict[int, float]]:
    flags = ["--set", "inference.mirror_axes=[0]"] if tta else ["--no-tta"]
    lite = run_without_torch(
        "predict",
        "--backend",
        "onnxruntime",
        "-e",
        str(model),
        str(images),
        "-o",
        str(tmp / "lite"),
        "--threads",
        "1",
        *flags,
    )
    assert lite.returncode == 0, lite.stderr[-2000:]
    assert "written to" in lite.stdout
    torch_predictor = Predictor(experiment, mirror_axes=(0,) if tta else ())
    reference = dict(torch_predictor.predict(images, tmp / "torch"))
    out: dict[str, dict[int, float]] = {}
    for case_id, image in reference.items():
        torch_file = next((tmp / "torch").glob(f"{case_id}.*"))
        lite_file = tmp / "lite" / torch_file.name  # the same name and format (the input's)
        ours, theirs = _read(lite_file), _read(torch_file)
        assert ours.shape == theirs.shape == image.array[0].shape
        written, original = (
            sitk.ReadImage(str(lite_file)),
            sitk.ReadImage(str(next(images.glob(f"{case_id}.*")))),
        )
        assert written.GetSize() == original.GetSize()
        assert np.allclose(written.GetSpacing(), original.GetSpacing())
        assert np.allclose(written.GetOrigin(), original.GetOrigin())
        out[case_id] = dice_per_label(ours, theirs)
    return out


def test_lite_cli_without_torch_matches_the_torch_predictor_3d(
    hippocampus: dict[str, Path], hippocampus_onnx: Path, tmp_path: Path
) -> None:
    dice = _compare(hippocampus["experiment"], hippocampus_onnx, hippocampus["held_out"], tmp_path, tta=True)
    assert len(dice) == 8
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    foreground = {int(value) for value in meta["labels"]} - {0}
    assert foreground == {1, 2}
    # each case holds both labels in one of the maps, hence (Dice >= 0.999) in both: no empty agreement
    assert all(set(case) == foreground for case in dice.values()), dice
    worst = min(v for case in dice.values() for v in case.values())
    print(f"held-out Dice torch vs ONNX (min over 8 cases x labels): {worst:.6f}")
    assert worst >= 0.999, dice


def test_lite_cli_without_torch_matches_the_torch_predictor_2d(
    membranes: dict[str, Path], tmp_path: Path
) -> None:
    model = tmp_path / "membranes.onnx"
    assert main(["export", str(membranes["experiment"]), "-o", str(model)]) == 0
    dice = _compare(membranes["experiment"], model, membranes["held_out"], tmp_path, tta=False)
    assert set(dice) == {"20"} and set(dice["20"]) == {255}  # membranes predicted (Dice of a present label)
    assert dice["20"][255] >= 0.999
    written = _read(tmp_path / "lite" / "20.png")
    assert written.dtype == np.uint8 and set(np.unique(written)) <= {0, 255}  # the data's own label values


def test_lite_probabilities_match_torch(hippocampus: dict[str, Path], hippocampus_onnx: Path) -> None:
    from medseg.data.predictant import parse_predictant

    case = next(parse_predictant(sorted(hippocampus["held_out"].iterdir())[0]))
    ours = LitePredictor(hippocampus_onnx, mirror_axes=(1, 2)).predict_case(case, return_probabilities=True)
    theirs = Predictor(hippocampus["experiment"], mirror_axes=(1, 2), channels_last=False).predict_case(
        case, return_probabilities=True
    )
    assert ours.array.shape == theirs.array.shape
    assert np.abs(ours.array - theirs.array).max() < 1e-5


def test_lite_errors_are_one_line(hippocampus: dict[str, Path], tmp_path: Path) -> None:
    images = str(hippocampus["held_out"])
    checkpoint = hippocampus["experiment"] / "checkpoints" / "best.safetensors"
    not_medseg = tmp_path / "plain.onnx"
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, 4])],
    )
    onnx.save(helper.make_model(graph), str(not_medseg))
    cases = [
        (["-e", str(checkpoint)], "needs .onnx files from `medseg export`"),
        (["-w", str(tmp_path)], "give -e MODEL.onnx"),
        (["-e", str(tmp_path / "missing.onnx")], "missing.onnx: model file does not exist"),
        (["-e", str(not_medseg)], "plain.onnx: model has no 'medseg.plan' metadata"),
    ]
    for extra, message in cases:
        result = run_without_torch(
            "predict", "--backend", "onnxruntime", images, "-o", str(tmp_path / "o"), *extra
        )
        assert result.returncode == 2, result.stderr[-1000:]
        line = result.stderr.strip()
        assert "\n" not in line and message in line, line


def test_an_onnx_model_with_the_torch_backend_names_the_flag(
    hippocampus_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", str(tmp_path), "-o", str(tmp_path / "o"), "-e", str(hippocampus_onnx)]) == 2
    assert "is an exported ONNX model; predict with it using --backend onnxruntime" in capsys.readouterr().err
