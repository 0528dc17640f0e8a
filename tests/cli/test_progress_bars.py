"""Progress bars on an interactive terminal: ``predict`` shows a per-case bar naming the experiment and
checkpoint; predicting, evaluating or preprocessing nothing shows no empty "0/0" bar.

The terminal is rich's: ``TTY_COMPATIBLE=1`` and ``TTY_INTERACTIVE=1`` make every console a live
terminal, so the bars are drawn into the captured streams exactly as a user would see them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rich

from medseg.cli.main import main
from medseg.config import Config, NetworkSpec, NormalizationSpec, Plan
from medseg.data.sample import load_sample, sample_path
from medseg.io import Image, read_image

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
RUN = "20260101-120000-abc123"
CHECKPOINT = Path("/exp/experiments/SegmentationTrainer_fold0") / RUN / "checkpoints" / "best.safetensors"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """Every rich console is an interactive terminal 200 columns wide; returns ``read()``: what was
    written to stdout and stderr since the last read, without escape codes."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(rich, "_console", None)  # rich's global console, made anew on this terminal

    def read() -> str:
        out = capsys.readouterr()
        return ANSI.sub("", out.out + out.err)

    return read


@dataclass
class Choice:
    path: Path
    fallback: bool = False

    def describe(self) -> str:
        return f"{self.path.parent.parent.name}: {self.path.name}"


class FakePredictor:
    """Answers like :class:`~medseg.inference.predictor.Predictor`: the label of each input image."""

    def __init__(self) -> None:
        self.checkpoint_choices = [Choice(CHECKPOINT)]
        self.checkpoint_paths = [CHECKPOINT]

    def predict(self, predictant: Any, shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[str, Image]]:
        names = [p.name for p in sorted(Path(predictant).iterdir())] if isinstance(predictant, Path) else []
        for name in [*names, *(predictant if isinstance(predictant, list) else [])]:
            label = read_image(sample_path() / "labelsTr" / name, is_label=True)
            yield name.removesuffix(".nii.gz"), label


def _names(count: int) -> list[str]:
    """File names of the first ``count`` sample cases."""
    training = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))["training"]
    return [Path(entry["image"]).name for entry in training[:count]]


def _images(out: Path, count: int) -> Path:
    training = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))["training"]
    out.mkdir(parents=True)
    for entry in training[:count]:
        shutil.copy(sample_path() / entry["image"], out / Path(entry["image"]).name)
    return out


def test_predict_shows_a_per_case_bar_naming_the_experiment_and_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: Callable[[], str]
) -> None:
    import medseg.presets.pipeline

    monkeypatch.setattr(medseg.presets.pipeline, "make_predictor", lambda config, sources: FakePredictor())
    images = _images(tmp_path / "images", 2)
    cases = sorted(p.name.removesuffix(".nii.gz") for p in images.iterdir())
    assert main(["predict", str(images), "-o", str(tmp_path / "out"), "-e", str(CHECKPOINT)]) == 0
    text = terminal()
    bars = [line for line in text.splitlines() if line.startswith("predicting (")]
    assert bars, text
    assert all(line.startswith(f"predicting ({RUN}/best.safetensors) ") for line in bars), bars
    assert any("0/" in line for line in bars) and any(f"2/? {cases[-1]}" in line for line in bars), bars
    assert "2 prediction(s) from 1 model(s)" in text
    assert sorted(p.name for p in (tmp_path / "out").glob("*.nii.gz")) == [f"{c}.nii.gz" for c in cases]


def test_predict_counts_the_cases_of_a_dataset_and_shows_no_bar_for_none(
    tmp_path: Path, terminal: Callable[[], str]
) -> None:
    from medseg.presets.pipeline import predict

    names = _names(2)
    predict(Config(), [], names, tmp_path / "out", predictor=FakePredictor(), progress=True)
    text = terminal()
    last = names[-1].removesuffix(".nii.gz")
    assert f"predicting ({RUN}/best.safetensors)" in text and f"2/2 {last}" in text, text
    predict(Config(), [], [], tmp_path / "none", predictor=FakePredictor(), progress=True)
    assert terminal() == ""  # no "0/0" bar
    predict(Config(), [], names, tmp_path / "quiet", predictor=FakePredictor(), progress=False)
    assert terminal() == ""


def test_evaluating_nothing_shows_no_bar(terminal: Callable[[], str]) -> None:
    from medseg.evaluation import Evaluator

    evaluator = Evaluator("dice", progress=True)
    label = np.zeros((8, 8), dtype=np.uint8)
    label[2:6, 2:6] = 1
    result = evaluator.evaluate_pairs(iter([("case", label, label, (1.0, 1.0))]), total=1)
    assert result.mean_metrics and "evaluating" in terminal()  # the bar, when there is something to do
    evaluator.evaluate_pairs(iter([]), total=0)
    assert terminal() == ""


def test_preprocessing_a_finished_cache_shows_no_bar(tmp_path: Path, terminal: Callable[[], str]) -> None:
    from medseg.data.preprocessing import preprocess

    dataset = load_sample()
    dataset = dataset.subset(sorted(dataset.case_ids)[:2])
    plan = Plan(
        spatial_dims=3,
        channel_names=["MRI"],
        labels={"background": 0, "Anterior": 1, "Posterior": 2},
        target_spacing=[1.0, 1.0, 1.0],
        normalization=[NormalizationSpec(scheme="zscore")],
        patch_size=[16, 16, 16],
        batch_size=2,
        network=NetworkSpec(name="unet", params={"features_base": 4}),
    )
    preprocess(dataset, plan, tmp_path / "cache", workers=0, progress=True)
    first = terminal()
    assert "preprocessing" in first and "2/2" in first, first
    preprocess(dataset, plan, tmp_path / "cache", workers=0, progress=True)  # every case is done
    assert terminal() == ""
