"""``medseg run-all DATA --model NAME`` works for every registered network, in 3D and 2D.

The planner asks the registry for each network's divisibility rule, extra patch rules, parameters
and deep-supervision support: these runs use the planned patch (no ``--patch-size``), only small
widths so that each run takes seconds on a CPU.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medseg.cli.main import main
from medseg.config import load_config
from medseg.data.sample import sample_path
from medseg.nets import available_networks, network_entry, required_divisor

# Small sizes of the networks whose defaults are large (transformers): still their own architecture.
SMALL: dict[str, str] = {
    "unetr": "{features_base: 4, hidden_size: 48, mlp_dim: 96, num_heads: 4}",
    "transunet": "{features_base: 4, hidden_size: 32, num_layers: 1, num_heads: 2, mlp_dim: 64}",
    "swintransunet": "{features_base: 4, hidden_size: 24, num_layers: 2, num_heads: 2, mlp_dim: 48}",
    "cmunext": "{features_base: 4, depths: [1, 1, 1, 1, 1]}",
    "vnet": "{dropout_prob: 0.0}",
}
for _swin in ("swinunetr", "swinunetr-small", "swinunetr-base", "swinunetr-large"):
    SMALL[_swin] = "{features_base: 12, depths: [1, 1, 1, 1], num_heads: [3, 3, 3, 3]}"


def _params(name: str) -> list[str]:
    return ["--set", f"model.params={SMALL[name]}"] if name in SMALL else ["--features-base", "4"]


@pytest.fixture(scope="module")
def hippocampus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hippo")
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    meta["training"], meta["numTraining"] = meta["training"][:4], 4
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir()
    for entry in meta["training"]:
        for key in ("image", "label"):
            shutil.copy(sample_path() / entry[key], out / entry[key])
    (out / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def membranes(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    out = tmp_path_factory.mktemp("isbi")
    for sub in ("image", "label"):
        (out / sub).mkdir()
        for i in range(4):
            shutil.copy(shared_data / "ISBI2012_membrane" / sub / f"{i}.png", out / sub / f"{i}.png")
    return out


def _check_run(work: Path, name: str, dims: int) -> None:
    config = load_config(work / "config.json")
    assert config.model.name == name and config.spatial_config.spatial_dims == dims
    patch = config.spatial_config.patch_size
    assert patch is not None
    divisor = required_divisor(
        name, patch, config.spatial_config.target_spacing, **(config.model.params or {})
    )
    assert all(p % d == 0 for p, d in zip(patch, divisor, strict=True))
    entry = network_entry(name)
    assert config.model.deep_supervision is entry.deep_supervision
    if not entry.deep_supervision:
        assert any("has no deep-supervision heads" in note for note in config.notes)
    assert (work / "evaluation" / "cv_summary.json").is_file()


@pytest.mark.parametrize("name", available_networks())
def test_every_network_trains_predicts_and_evaluates_in_3d(
    name: str, hippocampus: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    assert (
        main(
            [
                "run-all",
                str(hippocampus),
                "-o",
                str(work),
                "--model",
                name,
                *_params(name),
                "--epochs",
                "1",
                "--steps-per-epoch",
                "1",
                "--batch-size",
                "2",
                "--n-folds",
                "2",
                "--no-tta",
                "--workers",
                "0",
                "--set",
                "training.workers=0",
            ]
        )
        == 0
    )
    _check_run(work, name, 3)


@pytest.mark.parametrize("name", available_networks())
def test_every_network_trains_predicts_and_evaluates_in_2d(
    name: str, membranes: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    assert (
        main(
            [
                "run-all",
                str(membranes),
                "-o",
                str(work),
                "--model",
                name,
                *_params(name),
                "--epochs",
                "1",
                "--steps-per-epoch",
                "1",
                "--batch-size",
                "2",
                "--n-folds",
                "2",
                "--no-tta",
                "--workers",
                "0",
                "--set",
                "training.workers=0",
                "--patch-size",
                "128",
                "128",
            ]
        )
        == 0
    )
    _check_run(work, name, 2)
