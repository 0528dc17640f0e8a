"""The one-cycle schedule against torch's OneCycleLR, and the learning-rate range test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from medseg.cli.main import main
from medseg.data.sample import sample_path
from medseg.training.lr_finder import lr_range_test, suggest
from medseg.training.schedulers import build_lr_scheduler


@pytest.mark.parametrize("total", [10, 37, 200])
def test_onecycle_matches_torch(total: int) -> None:
    ours_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ours = build_lr_scheduler(ours_opt, "onecycle", total)
    ref = torch.optim.lr_scheduler.OneCycleLR(
        ref_opt,
        max_lr=0.1,
        total_steps=total,
        pct_start=0.3,
        anneal_strategy="cos",
        div_factor=25.0,
        final_div_factor=1e4,
        cycle_momentum=False,
    )
    for _ in range(total):
        assert ours_opt.param_groups[0]["lr"] == pytest.approx(
            ref_opt.param_groups[0]["lr"], rel=1e-9, abs=1e-15
        )
        ours_opt.step(), ref_opt.step()
        ours.step(), ref.step()


def test_range_test_on_a_quadratic_suggests_a_stable_learning_rate() -> None:
    # loss(w) = w^2 with SGD: steps with lr < 1 converge, lr > 1 diverge
    w = torch.tensor([3.0], requires_grad=True)

    def step(_: object, lr: float) -> float:
        loss = (w**2).sum()
        w.grad = None
        loss.backward()
        with torch.no_grad():
            w.sub_(lr * w.grad)
        return float(loss)

    result = lr_range_test(step, iter(range(10_000)), start_lr=1e-4, end_lr=10.0, steps=100)
    assert result.lrs[-1] < 10.0  # stopped at the divergence
    assert 1e-3 < result.suggestion < 1.0
    assert suggest([1e-3, 1e-2, 1e-1, 1.0, 10.0], [5.0, 4.0, 2.0, 1.0, 9.0]) <= 0.1  # capped at min / 10


def test_lr_find_through_the_cli_writes_the_curve_and_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    meta["training"], meta["numTraining"] = meta["training"][:4], 4
    data = tmp_path / "data"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    for entry in meta["training"]:
        for key in ("image", "label"):
            shutil.copy(sample_path() / entry[key], data / entry[key])
    (data / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    work = tmp_path / "work"
    assert (
        main(
            [
                "analyze",
                str(data),
                "-o",
                str(work),
                "--features-base",
                "4",
                "--patch-size",
                "16",
                "16",
                "16",
                "--batch-size",
                "2",
                "--workers",
                "0",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "lr-find",
                "-o",
                str(work),
                "--steps",
                "20",
                "--set",
                "training.workers=0",
                "--set",
                "training.n_folds=2",
            ]
        )
        == 0
    )
    rows = np.loadtxt(work / "lr_find" / "lr_find.csv", delimiter=",", skiprows=1)
    assert rows.shape[1] == 3 and np.all(np.diff(rows[:, 0]) > 0)
    assert (work / "lr_find" / "lr_find.png").stat().st_size > 1000
    out = capsys.readouterr().out
    suggested = float(out.split("suggested learning rate ")[1].split(" ")[0])
    assert rows[0, 0] <= suggested <= rows[-1, 0]
