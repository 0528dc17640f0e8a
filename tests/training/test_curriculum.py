"""The 3-stage curriculum: stage boundaries, what each stage samples, hard-example mining, exact resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from medseg.config import Config, apply_overrides
from medseg.data.sample import load_sample
from medseg.io.state import load_state
from medseg.presets import pipeline
from medseg.training.callback import Callback
from medseg.training.callbacks import Curriculum

TINY = {
    "spatial_config.patch_size": [16, 16, 16],
    "training.batch_size": 2,
    "model.params": {"features_base": 4},
    "training.epochs": 6,
    "training.steps_per_epoch": 2,
    "training.workers": 0,
    "preprocessing.workers": 0,
    "training.n_folds": 3,
    "inference.tta": False,
    "training.deterministic": True,
    "training.val_max_share": 1.0,
    "training.curriculum": {
        "foreground": 0.33,
        "rare_class": 0.33,
        "ohem_pool": 2,
        "ohem_keep": 0.5,
        "ohem_refresh": 1,
    },
}


def test_stage_boundaries_are_shares_of_the_run() -> None:
    c = Curriculum(foreground=0.3, rare_class=0.3)
    assert [c.stage_of(e, 10) for e in range(10)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    assert [c.stage_of(e, 20) for e in range(0, 20, 5)] == [
        1,
        1,
        2,
        3,
    ]  # a refitted run keeps its proportions
    with pytest.raises(ValueError, match="must be >= 0 and sum to <= 1"):
        Curriculum(foreground=0.7, rare_class=0.5)


class Stop(Callback):
    """Interrupt the run at the end of an epoch, before its checkpoint (as a kill would)."""

    def __init__(self, epoch: int) -> None:
        self.at = epoch

    def on_epoch_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        if trainer.epoch == self.at:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Any:
    dataset = load_sample()
    return dataset.subset(sorted(dataset.case_ids)[:6])


def _train(
    small: Any, work: Path, monkeypatch: pytest.MonkeyPatch, stop_at: int | None = None, resume: bool = False
) -> Path:
    config = apply_overrides(Config(), TINY)
    if stop_at is not None:
        original = pipeline._callbacks
        monkeypatch.setattr(pipeline, "_callbacks", lambda cfg, r, w: [*original(cfg, r, w), Stop(stop_at)])
    try:
        return pipeline.train(small, config, work, fold=0, resume=resume, progress=False)
    finally:
        monkeypatch.undo()


def test_curriculum_stages_are_logged_and_a_resumed_run_is_bit_identical(
    small: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = _train(small, tmp_path / "a", monkeypatch)
    rows = pd.read_csv(straight / "metrics.csv")
    assert rows["curriculum_stage"].tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    with pytest.raises(KeyboardInterrupt):
        _train(small, tmp_path / "b", monkeypatch, stop_at=5)  # dies inside stage 3, after mining
    resumed = _train(small, tmp_path / "b", monkeypatch, resume=True)
    a, _ = load_state(straight / "checkpoints" / "latest.safetensors")
    b, _ = load_state(resumed / "checkpoints" / "latest.safetensors")
    assert a["trainer"]["epoch"] == b["trainer"]["epoch"] == 6
    for key, value in a["weights"].items():
        assert torch.equal(value, b["weights"][key]), key
    assert a["trainer"]["callbacks"]["Curriculum"] == b["trainer"]["callbacks"]["Curriculum"]


def test_each_stage_samples_what_it_says_and_ohem_keeps_the_hardest(small: Any, tmp_path: Path) -> None:
    from medseg.data.preprocessing import PreprocessedDataset
    from medseg.data.sampling import RandomROIDataset, SamplingStage

    config = apply_overrides(Config(), TINY)
    config = pipeline.analyze(small, config, tmp_path, progress=False)
    cache = pipeline.preprocess(small, config, tmp_path, progress=False)
    sampler = RandomROIDataset(
        PreprocessedDataset(cache), [16, 16, 16], 40, foreground_oversampling=0.0, seed=0
    )
    foreground = SamplingStage("foreground", foreground_oversampling=1.0)
    assert all(sampler.draw((0, i, foreground)).forced_class is not None for i in range(40))
    assert all(sampler.draw((0, i)).forced_class is None for i in range(40))  # the sampler's own setting: 0
    rare = SamplingStage("rare", foreground_oversampling=1.0, rare_class_oversampling=True)
    totals = {1: 0, 2: 0}
    for i in range(len(sampler._counts)):
        for k, v in sampler._counts[i].items():
            totals[k] += v
    rarer = min(totals, key=totals.get)  # type: ignore[arg-type]
    forced = [sampler.draw((0, i, rare)).forced_class for i in range(400)]
    assert forced.count(rarer) > forced.count(3 - rarer)  # inverse frequency favours the rarer class

    class Probe:  # a trainer-shaped object: a network that is confident on background
        device = torch.device("cpu")
        epoch = 0
        logger = __import__("logging").getLogger("test")
        plan = None

        def __init__(self) -> None:
            net = torch.nn.Conv3d(1, 3, 1)
            torch.nn.init.zeros_(net.weight)
            net.bias.data = torch.tensor([3.0, 0.0, 0.0])
            self.toolbox = type("TB", (), {"network": net, "criterion": torch.nn.CrossEntropyLoss()})()

        def region_loss(self) -> Any:
            return lambda logits, target: torch.nn.functional.cross_entropy(logits, target[:, 0].long())

    curriculum = Curriculum(ohem_pool=1, ohem_keep=0.25)
    hard = curriculum.mine(Probe(), sampler)  # type: ignore[arg-type]
    assert len(hard) == 10
    foreground_voxels = [
        int((sampler.patch(d)["label"] > 0).sum()) for d in (sampler.draw((0, i)) for i in range(40))
    ]
    kept = {(d.case_index, d.start) for d in hard}
    pool = [sampler.draw((0, i)) for i in range(40)]
    kept_counts = [c for d, c in zip(pool, foreground_voxels, strict=True) if (d.case_index, d.start) in kept]
    other = [c for d, c in zip(pool, foreground_voxels, strict=True) if (d.case_index, d.start) not in kept]
    assert min(kept_counts) >= max(
        other
    )  # background-confident network: the hardest patches hold most foreground
