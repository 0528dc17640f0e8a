"""``medseg train --track mlflow`` against a real MLflow server process on 127.0.0.1 (sqlite store):
the run appears with its parameters, Plan, per-epoch metrics and previews; ``--resume`` appends to
the same run; a run stopped by SIGTERM (a cluster's preemption, handled as Ctrl-C) is KILLED."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medseg.cli.main import main
from medseg.data.sample import copy_sample

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--n-folds",
    "3",
    "--steps-per-epoch",
    "2",
    "--features-base",
    "8",
    "--patch-size",
    "16",
    "16",
    "16",
    "--batch-size",
    "2",
    "--set",
    "training.workers=0",
    "--set",
    "preprocessing.workers=0",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` with a sqlite store and served artifacts, on a free port; stopped after the module."""
    executable = Path(sys.executable).parent / "mlflow"
    if not executable.is_file():
        pytest.skip(f"{executable}: mlflow command not installed")
    root = tmp_path_factory.mktemp("mlflow_server")
    port = _free_port()
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(executable),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn worker: the group we started
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("cli_tracking") / "data", 6)


def _runs(url: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids))


def test_train_with_track_mlflow_then_resume_appends_to_the_same_run(
    mlflow_server: str,
    data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    work = tmp_path / "work"
    common = [
        "-o",
        str(work),
        "--data",
        str(data),
        "--fold",
        "0",
        "--track",
        "mlflow",
        "--set",
        f"tracking.mlflow_uri={mlflow_server}",
        "--set",
        "tracking.experiment=cli-test",
        *TINY,
    ]
    assert main(["train", *common, "--epochs", "2"]) == 0
    client = MlflowClient(mlflow_server)
    (run,) = [
        r
        for r in _runs(mlflow_server)
        if r.info.experiment_id == client.get_experiment_by_name("cli-test").experiment_id
    ]
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert (
        run.data.params["plan.patch_size"] == "[16, 16, 16]"
        and run.data.params["training.steps_per_epoch"] == "2"
    )
    assert run.data.params["plan.network.params.features_base"] == "8"
    assert [m.step for m in client.get_metric_history(run_id, "train_loss")] == [1, 2]
    assert [m.step for m in client.get_metric_history(run_id, "val_score")][-1] == 2
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"plan.json", "config.json", "previews", "plots"} <= top
    assert "previews/worst_case.png" in {a.path for a in client.list_artifacts(run_id, "previews")}
    plan = json.loads(
        Path(client.download_artifacts(run_id, "plan.json", str(tmp_path))).read_text(encoding="utf-8")
    )
    assert plan["patch_size"] == [16, 16, 16]
    # the console title, metrics.csv and the tracking step say the same epoch numbers
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "epoch 0/" not in out
    (experiment,) = (work / "experiments" / "SegmentationTrainer_fold0").iterdir()
    assert (experiment / "metrics.csv").read_text(encoding="utf-8").splitlines()[1].startswith("1.0,")

    assert main(["train", *common, "--resume", "--epochs", "3"]) == 0
    assert [
        r.info.run_id
        for r in _runs(mlflow_server)
        if r.data.tags.get("medseg.run", "").startswith("SegmentationTrainer_fold0/")
    ] == [run_id]
    assert [m.step for m in client.get_metric_history(run_id, "train_loss")] == [1, 2, 3]
    assert client.get_run(run_id).info.status == "FINISHED"

    capsys.readouterr()
    assert (
        main(
            [
                "predict",
                str(data / "imagesTr"),
                "-o",
                str(tmp_path / "pred"),
                "-e",
                str(experiment),
                "--device",
                "cpu",
                "--no-tta",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out  # the verb names the experiment and the checkpoint file it used
    assert f"experiment {experiment}: checkpoint best.safetensors" in out.replace("\n", "")


def test_a_run_stopped_by_sigterm_is_killed_not_finished(
    mlflow_server: str, data: Path, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_TRACKING_URI": mlflow_server}
    command = [
        sys.executable,
        "-m",
        "medseg.cli.main",
        "train",
        "-o",
        str(tmp_path / "work"),
        "--data",
        str(data),
        "--fold",
        "0",
        "--epochs",
        "200",
        "--track",
        "mlflow",
        "--set",
        "tracking.experiment=sigterm",
        *TINY,
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    client = MlflowClient(mlflow_server)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            experiment = client.get_experiment_by_name("sigterm")
            runs = client.search_runs([experiment.experiment_id]) if experiment else []
            if runs and client.get_metric_history(runs[0].info.run_id, "train_loss"):
                break
            time.sleep(1)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err.decode()[-2000:]
    assert "medseg: interrupted" in err.decode()
    (run,) = client.search_runs([client.get_experiment_by_name("sigterm").experiment_id])
    assert run.info.status == "KILLED" and run.data.tags["medseg.status"] == "Interrupted"
