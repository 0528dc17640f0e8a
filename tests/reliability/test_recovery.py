"""What a user sees when medseg falls back, replaces or warns, instead of failing (through the CLI).

* ``predict --checkpoint best`` on a run without ``best`` says that it used ``latest``, and why;
* ``dataset_info.nonfinite: minimum`` replaces NaN/inf voxels by the stated rule, for training data
  and images to predict alike (checked against the same images with the rule applied by hand);
* a case with a 1000 mm slice spacing is named in a warning on stderr and in the plan notes;
* ``--deterministic`` sets ``training.deterministic``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from reliability_kit import run_cli

from medseg.cli.main import build_parser
from medseg.cli.options import flag_overrides
from medseg.config import load_config

PLAN = ["--workers", "0", "--features-base", "4", "--patch-size", "16", "16", "16", "--batch-size", "2"]


def _read(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def _write_like(path: Path, array: np.ndarray, like: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(sitk.ReadImage(str(like)))
    sitk.WriteImage(image, str(path))


def test_predict_says_which_checkpoint_it_used(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    first = sorted(trained["predictions"].iterdir())[0]
    shutil.copy(trained["data"] / "imagesTr" / first.name, images / first.name)
    code, out, _ = run_cli(
        ["predict", str(images), "-o", str(tmp_path / "a"), "-e", str(trained["experiment"]), "--no-tta"],
        capsys,
    )
    assert code == 0
    assert f"experiment {trained['experiment']}: checkpoint best.safetensors\n" in out
    no_best = tmp_path / "no_best"
    shutil.copytree(trained["experiment"], no_best)
    (no_best / "checkpoints" / "best.safetensors").unlink()
    code, out, _ = run_cli(
        ["predict", str(images), "-o", str(tmp_path / "b"), "-e", str(no_best), "--no-tta"], capsys
    )
    assert code == 0
    assert (
        f"experiment {no_best}: checkpoint latest.safetensors (no checkpoints/best.safetensors: the run has no "
        "validated score yet; using latest instead)\n"
    ) in out


def test_nonfinite_minimum_for_training_data_and_predictions(
    tiny_data: Path, trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    case = data / "imagesTr" / "hippocampus_007.nii.gz"
    clean = _read(case).astype(np.float32)
    broken = clean.copy()
    broken[0, 0, :3] = [np.nan, np.inf, -np.inf]
    _write_like(case, broken, case)
    work = tmp_path / "work"
    code, _, err = run_cli(["analyze", str(data), "-o", str(work), *PLAN], capsys)
    assert code == 2 and "image has 3 NaN/inf voxels" in err  # refused by default
    code, _, err = run_cli(
        ["analyze", str(data), "-o", str(work), *PLAN, "--set", "dataset_info.nonfinite=minimum"], capsys
    )
    assert code == 0, err
    assert load_config(work / "config.json").dataset_info.nonfinite == "minimum"
    code, _, err = run_cli(["preprocess", "-o", str(work), "--workers", "0"], capsys)
    assert code == 0, err
    by_hand = clean.copy()
    by_hand[0, 0, :3] = clean[
        np.isfinite(broken)
    ].min()  # the stated rule: the channel's smallest finite value
    reference = tmp_path / "ref_data"
    shutil.copytree(data, reference)
    _write_like(reference / "imagesTr" / case.name, by_hand, case)
    ref_work = tmp_path / "ref_work"
    assert run_cli(["analyze", str(reference), "-o", str(ref_work), *PLAN], capsys)[0] == 0
    assert run_cli(["preprocess", "-o", str(ref_work), "--workers", "0"], capsys)[0] == 0
    cached = np.load(work / "preprocessed" / "cases" / "hippocampus_007" / "image.npy")
    expected = np.load(ref_work / "preprocessed" / "cases" / "hippocampus_007" / "image.npy")
    np.testing.assert_array_equal(cached, expected)

    images, fixed = tmp_path / "images", tmp_path / "fixed"
    images.mkdir()
    fixed.mkdir()
    shutil.copy(case, images / case.name)
    _write_like(fixed / case.name, by_hand, case)
    args = ["-e", str(trained["experiment"]), "--no-tta"]
    code, _, err = run_cli(["predict", str(images), "-o", str(tmp_path / "p0"), *args], capsys)
    assert code == 2 and "image has 3 NaN/inf voxels" in err
    code, _, err = run_cli(
        [
            "predict",
            str(images),
            "-o",
            str(tmp_path / "p1"),
            *args,
            "--set",
            "dataset_info.nonfinite=minimum",
        ],
        capsys,
    )
    assert code == 0, err
    assert run_cli(["predict", str(fixed), "-o", str(tmp_path / "p2"), *args], capsys)[0] == 0
    np.testing.assert_array_equal(_read(tmp_path / "p1" / case.name), _read(tmp_path / "p2" / case.name))


def test_a_1000_mm_slice_spacing_is_warned_about(
    tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    for folder in ("imagesTr", "labelsTr"):
        path = data / folder / "hippocampus_011.nii.gz"
        image = sitk.ReadImage(str(path))
        image.SetSpacing((image.GetSpacing()[0], image.GetSpacing()[1], 1000.0))  # x, y, z
        sitk.WriteImage(image, str(path))
    code, out, err = run_cli(["analyze", str(data), "-o", str(tmp_path / "work"), *PLAN], capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("medseg: warning: ")]
    assert len(warnings) == 1 and warnings[0].startswith(
        "medseg: warning: case hippocampus_011: spacing 1000 mm on axis z is 1000x the median 1 mm; "
    )
    notes = load_config(tmp_path / "work" / "config.json").notes
    assert [n for n in notes if n.startswith("warning: ")] == [warnings[0].removeprefix("medseg: ")]
    assert "case hippocampus_011: spacing 1000 mm" in out  # the analyze verb prints the notes too


def test_deterministic_flag_sets_the_config_key() -> None:
    for verb in (["train", "-o", "w"], ["run-all", "d", "-o", "w"]):
        assert flag_overrides(build_parser().parse_args([*verb, "--deterministic"])) == {
            "training.deterministic": True
        }
        assert flag_overrides(build_parser().parse_args([*verb, "--no-deterministic"])) == {
            "training.deterministic": False
        }


def test_a_damaged_fingerprint_cache_is_computed_again(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    shutil.copytree(trained["work"], work)
    (cache,) = (work / "fingerprint").glob("*.json")
    good_json, good_samples = cache.read_bytes(), cache.with_suffix(".safetensors").read_bytes()
    for damaged, content in ((cache.with_suffix(".safetensors"), b"\0" * 20), (cache, b"{")):
        damaged.write_bytes(content)
        code, _, err = run_cli(["analyze", str(trained["data"]), "-o", str(work), *PLAN], capsys)
        assert code == 0, err
        assert (
            cache.read_bytes() == good_json and cache.with_suffix(".safetensors").read_bytes() == good_samples
        )
