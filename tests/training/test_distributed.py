"""Distributed training with torchrun on the CPU (gloo, 2 processes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from medseg.config import Config, apply_overrides
from medseg.data.sample import copy_sample, load_sample
from medseg.io.state import load_state
from medseg.presets import pipeline
from medseg.training import distributed

HERE = Path(__file__).parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_one_ddp_step_with_two_halves_equals_one_step_on_the_whole_batch(tmp_path: Path) -> None:
    out = tmp_path / "ddp.safetensors"
    done = subprocess.run(
        [*TORCHRUN, str(HERE / "ddp_step_job.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sys.path.insert(0, str(HERE))
    from ddp_step_job import batch, network

    net = network()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    images, labels = batch()
    torch.nn.functional.cross_entropy(net(images), labels).backward()
    optimizer.step()
    ddp, _ = load_state(out)
    single = net.state_dict()
    assert ddp["weights"].keys() == single.keys()
    for key, value in single.items():
        torch.testing.assert_close(ddp["weights"][key], value, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(value, network().state_dict()[key]) for key, value in single.items())


TINY_RUN = [
    "--n-folds",
    "3",
    "--epochs",
    "2",
    "--steps-per-epoch",
    "2",
    "--features-base",
    "4",
    "--patch-size",
    "16",
    "16",
    "16",
    "--batch-size",
    "2",
    "--no-tta",
    "--set",
    "training.workers=0",
    "--workers",
    "0",
]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=_env(), encoding="utf-8")


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``torchrun --nproc-per-node 2 -m medseg run-all`` on 6 cases: 2 epochs of 2 steps, fold 0."""
    root = tmp_path_factory.mktemp("ddp")
    data, work = copy_sample(root / "data", 6), root / "work"
    done = _run([*TORCHRUN, "-m", "medseg", "run-all", str(data), "-o", str(work), "--folds", "0", *TINY_RUN])
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = sorted((work / "experiments" / "SegmentationTrainer_fold0").iterdir())  # one run, one folder
    return {"root": root, "data": data, "work": work, "run": run}


def test_torchrun_trains_one_model_whose_checkpoint_predicts_and_predict_shards_cases(
    ddp_run: dict[str, Path],
) -> None:
    data, work, run = ddp_run["data"], ddp_run["work"], ddp_run["run"]
    metrics = pd.read_csv(run / "metrics.csv")
    assert len(metrics) == 2  # rank 0 alone logs
    state, _ = load_state(run / "checkpoints" / "latest.safetensors")
    assert not any(k.startswith("module.") for k in state["weights"])  # the plain network, loadable anywhere
    assert (work / "evaluation" / "cv_summary.json").is_file()
    out, record = ddp_run["root"] / "pred", ddp_run["root"] / "predicted"
    # ddp_cli_job.py is `medseg` recording which cases each rank's Predictor computed
    command = [str(HERE / "ddp_cli_job.py"), str(record), "predict", str(data / "imagesTr"), "-o", str(out)]
    done = _run([*TORCHRUN, *command, "-w", str(work), "--no-tta"])
    assert done.returncode == 0, done.stderr[-3000:]
    cases = {p.name.removesuffix(".nii.gz") for p in (data / "imagesTr").glob("*.nii.gz")}
    assert {p.name.removesuffix(".nii.gz") for p in out.glob("*.nii.gz")} == cases
    by_rank = [(record / f"predicted-rank{r}.txt").read_text(encoding="utf-8").split() for r in (0, 1)]
    assert all(len(ids) == 3 for ids in by_rank), by_rank  # both ranks worked, each case once
    assert sorted(by_rank[0] + by_rank[1]) == sorted(cases), by_rank


def test_a_two_rank_checkpoint_resumes_in_one_process_where_it_stopped(ddp_run: dict[str, Path]) -> None:
    work = ddp_run["root"] / "resume_work"
    shutil.copytree(ddp_run["work"], work)  # leaves the 2-rank run as it was for the other tests
    (run,) = (work / "experiments" / "SegmentationTrainer_fold0").iterdir()
    saved, _ = load_state(run / "checkpoints" / "latest.safetensors")
    record = ddp_run["root"] / "recovered"
    command = [sys.executable, str(HERE / "ddp_cli_job.py"), str(record), "train", "-o", str(work)]
    done = _run([*command, "--fold", "0", "--resume", "--epochs", "4"])  # no torchrun: one process
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in run.parent.iterdir()] == [run.name]  # continued in the same folder
    # what the resumed process started from: the 2-rank run's epoch, optimiser and schedule
    recovered = torch.load(record / "recovered-rank0.pt", weights_only=False)
    assert recovered["epoch"] == 2
    assert recovered["scheduler"]["last_epoch"] == saved["toolbox"]["scheduler"]["last_epoch"] == 4
    moments = saved["toolbox"]["optimizer"]["state"]  # SGD's momentum buffers, one per parameter
    assert moments and recovered["optimizer"]["state"].keys() == moments.keys()
    for key, buffers in moments.items():
        assert any(v.abs().sum() > 0 for v in buffers.values())
        torch.testing.assert_close(recovered["optimizer"]["state"][key], buffers)
    # and where it went: epochs 3-4 appended, the poly schedule stretched to 8 steps, not restarted
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2, 3, 4]
    schedule = saved["toolbox"]["scheduler"]
    peak, power = schedule["base_lrs"][0], schedule["lr_lambdas"][0]["power"]
    assert schedule["lr_lambdas"][0]["schedule"] == "poly"
    poly = [peak * (1 - step / 8) ** power for step in (6, 8)]  # lr after epochs 3 and 4 (2 steps each)
    assert metrics["lr"].iloc[2:].tolist() == pytest.approx(poly, abs=1e-7)
    final, _ = load_state(run / "checkpoints" / "latest.safetensors")
    assert final["trainer"]["epoch"] == 4 and final["toolbox"]["scheduler"]["last_epoch"] == 8


class _Ranks:
    """``medseg.training.distributed`` as rank ``r`` sees it, without a process group (for pipeline.train)."""

    def __init__(self, r: int) -> None:
        self.r = r

    def rank(self) -> int:
        return self.r

    def is_main(self) -> bool:  # every fake rank analyses and preprocesses (idempotent) for itself
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(distributed, name)


class _LoaderBuilt(Exception):
    pass


def _training_batches(small: Any, work: Path, r: int, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The first 2 batches that ``pipeline.train`` on rank ``r`` would train on (its loader, epoch 0)."""
    import medseg.data.loader as loaders

    make_loader, built = loaders.make_loader, []

    def build_and_stop(*args: Any, **kwargs: Any) -> Any:
        built.append(make_loader(*args, **kwargs))
        raise _LoaderBuilt

    config = apply_overrides(
        Config(),
        {
            "spatial_config.patch_size": [16, 16, 16],
            "training.batch_size": 2,
            "model.params": {"features_base": 4},
            "training.epochs": 1,
            "training.steps_per_epoch": 2,
            "training.workers": 0,
            "preprocessing.workers": 0,
            "training.n_folds": 3,
        },
    )
    with monkeypatch.context() as patch:
        patch.setattr(loaders, "make_loader", build_and_stop)
        patch.setattr(pipeline, "distributed", _Ranks(r))
        with pytest.raises(_LoaderBuilt):
            pipeline.train(small, config, work, fold=0, progress=False)
    (loader,) = built
    loader.dataset.set_epoch(0)  # as the trainer does before each epoch
    try:
        return [batch for _, batch in zip(range(2), loader, strict=False)]
    finally:
        loader.close()


def test_each_rank_trains_on_its_own_patches_and_a_rerun_draws_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = load_sample()
    small = dataset.subset(sorted(dataset.case_ids)[:6])
    rank0, rank1 = (_training_batches(small, tmp_path, r, monkeypatch) for r in (0, 1))
    again = _training_batches(small, tmp_path, 0, monkeypatch)
    for a, b, c in zip(rank0, rank1, again, strict=True):
        assert not torch.equal(a["image"], b["image"])  # seeded by rank: other patches
        assert torch.equal(a["image"], c["image"]) and torch.equal(a["label"], c["label"])  # reproducible


def test_batch_norm_nets_train_under_ddp_on_the_cpu(tmp_path: Path) -> None:
    done = _run([*TORCHRUN, str(HERE / "ddp_batchnorm_job.py"), str(tmp_path)])
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text(encoding="utf-8")) for r in (0, 1)]
    sys.path.insert(0, str(HERE))
    from ddp_batchnorm_job import network

    start = network().state_dict()
    for record in ranks:
        assert (record["world_size"], record["wrapper"]) == (2, "DistributedDataParallel")
        assert record["error"] is None
        # SyncBatchNorm has no CPU implementation (DDP refuses to wrap it: "SyncBatchNorm layers
        # only work with GPU modules"), so on the CPU the batch norms stay per-rank BatchNorm
        assert record["norms"] == ["BatchNorm3d"]
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    params = [k for k in start if not k.endswith(buffers)]
    for key in params:  # one averaged step: the ranks hold the same, changed, weights
        assert ranks[0]["weights"][key] == pytest.approx(ranks[1]["weights"][key], abs=1e-6), key
    assert any(ranks[0]["weights"][k] != pytest.approx(start[k].flatten().tolist()) for k in params)


def test_sync_batch_norms_converts_batch_norms_for_the_gpu_only() -> None:
    net = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3), torch.nn.BatchNorm3d(2), torch.nn.InstanceNorm3d(2))
    net[1].running_mean.fill_(0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert distributed.sync_batch_norms(net, torch.device("cpu")) is net
    converted = distributed.sync_batch_norms(net, torch.device("cuda"))  # conversion runs without a GPU
    norms = [type(m) for m in converted.modules() if "Norm" in type(m).__name__]
    assert norms == [torch.nn.SyncBatchNorm, torch.nn.InstanceNorm3d]
    for key, value in converted.state_dict().items():
        assert torch.equal(value, before[key]), key
