"""Distributed training with torchrun on the CPU (gloo, 2 processes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from medseg.data.sample import sample_path
from medseg.io.state import load_state

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


def _small_msd(out: Path, count: int = 6) -> Path:
    meta = json.loads((sample_path() / "dataset.json").read_text(encoding="utf-8"))
    meta["training"], meta["numTraining"] = meta["training"][:count], count
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir(parents=True)
    for entry in meta["training"]:
        for key in ("image", "label"):
            shutil.copy(sample_path() / entry[key], out / entry[key])
    (out / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return out


def test_torchrun_trains_one_model_whose_checkpoint_predicts_and_predict_shards_cases(tmp_path: Path) -> None:
    data, work = _small_msd(tmp_path / "data"), tmp_path / "work"
    tiny = [
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
    done = subprocess.run(
        [*TORCHRUN, "-m", "medseg", "run-all", str(data), "-o", str(work), "--folds", "0", *tiny],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = sorted((work / "experiments" / "SegmentationTrainer_fold0").iterdir())  # one run, one folder
    metrics = pd.read_csv(run / "metrics.csv")
    assert len(metrics) == 2  # rank 0 alone logs
    state, _ = load_state(run / "checkpoints" / "latest.safetensors")
    assert not any(k.startswith("module.") for k in state["weights"])  # the plain network, loadable anywhere
    assert (work / "evaluation" / "cv_summary.json").is_file()
    out = tmp_path / "pred"
    done = subprocess.run(
        [
            *TORCHRUN,
            "-m",
            "medseg",
            "predict",
            str(data / "imagesTr"),
            "-o",
            str(out),
            "-w",
            str(work),
            "--no-tta",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list(out.glob("*.nii.gz"))) == 6  # the two ranks predicted three cases each
