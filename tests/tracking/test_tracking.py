"""Frontends receive the run as it happens, read back from what each service wrote; secrets never
reach a file; interrupted and crashed runs are not FINISHED; a resumed run continues the same runs;
a tracking outage costs warnings, not the training."""

from __future__ import annotations

import json
import logging
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from torch import nn
from torch.utils.data import DataLoader

from medseg.config import Training
from medseg.core.errors import ConfigError
from medseg.tracking import JsonLinesFrontend, create_hybrid_frontend, redact
from medseg.tracking.mlflow_frontend import MLflowFrontend
from medseg.tracking.notion import NotionFrontend
from medseg.tracking.tensorboard_frontend import TensorBoardFrontend
from medseg.tracking.wandb_frontend import WandbFrontend
from medseg.training.callback import Callback
from medseg.training.callbacks.plots import PlotCallback
from medseg.training.callbacks.tracking import TrackingCallback

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "training"))
sys.path.insert(0, str(HERE))
from fake_notion import serve  # noqa: E402
from resume_job import TinyTrainer, make_data, make_trainer, tiny_plan  # noqa: E402
from wandb_records import read_run  # noqa: E402

SECRET = "s3cr3t-token-value-12345"


class StopAt(Callback):
    """Raise ``error`` at the start of epoch ``epoch`` (1-based), after the previous checkpoint."""

    def __init__(self, epoch: int, error: BaseException) -> None:
        self.epoch, self.error = epoch, error

    def on_epoch_start(self, trainer: Any) -> None:
        if trainer.epoch_number == self.epoch:
            raise self.error


@dataclass
class Scored:
    """A validation result with a given score (what the trainer and the callbacks read of one)."""

    score: float

    def row(self) -> dict[str, float]:
        return {"val_score": self.score}


class ScoredTrainer(TinyTrainer):
    """TinyTrainer whose validation of epoch ``e`` scores ``scores[e]``, with a network of known size:
    3x3 convolutions 1 -> 128 -> 128 -> 2 channels on 16 x 16 patches.

    Parameters: (9*1 + 1)*128 + (9*128 + 1)*128 + (9*128 + 1)*2 = 1280 + 147584 + 2306 = 151170;
    MACs of one patch: 16*16 * 9 * (1*128 + 128*128 + 128*2) = 256 * 150912 = 38633472.
    """

    PARAMS = 151_170
    MACS = 38_633_472

    def __init__(self, root: str, extra: list[Callback], scores: dict[int, float]) -> None:
        loader = DataLoader(make_data(), batch_size=4, shuffle=True, num_workers=0)
        training = Training(seed=7, deterministic=True, device="cpu")
        super().__init__(
            root, loader, "scored", plan=tiny_plan(), training=training, transparency=False, callbacks=extra
        )
        self.scores = scores

    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(example_shape[0], 128, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(128, self.plan.out_channels, 3, padding=1),
        )

    def validate(self) -> Scored:
        return Scored(self.scores[self.epoch_number])


def _all_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _tb_scalars(folder: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


@pytest.fixture(scope="module")
def ml_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow store for the module (creating its tables costs seconds); tests use their own experiment."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def offline_wandb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")


def test_every_frontend_reads_back_the_run_and_no_secret_is_written(
    tmp_path: Path, monkeypatch: Any, ml_root: Path, offline_wandb: None
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("NOTION_TOKEN", SECRET)
    local = JsonLinesFrontend(tmp_path / "events.jsonl")
    ml = MLflowFrontend("every-frontend", root=ml_root)
    wb = WandbFrontend("tests", directory=tmp_path / "wb")
    tb = TensorBoardFrontend(tmp_path / "tb")
    config = {"training": {"lr": 0.01, "note": f"token={SECRET}"}}
    callback = TrackingCallback(create_hybrid_frontend(local, ml, wb, tb), config, plots_every=1)
    trainer = make_trainer(str(tmp_path / "exp"), [PlotCallback(), callback])
    trainer.plan = trainer.plan.model_copy(update={"reasons": [f"token={SECRET}"]})  # a secret in a parameter
    folder = trainer.train(3)

    events = _events(tmp_path / "events.jsonl")
    assert events[0]["event"] == "start" and events[0]["params"]["plan.network.name"] == "unet"
    assert {e["name"] for e in events if e["event"] == "document"} == {"plan.json", "config.json"}
    assert [e["step"] for e in events if e["event"] == "metrics"] == [1, 2, 3]
    assert [e["step"] for e in events if e["event"] == "artifact" and e["path"].endswith("progress.png")][
        :3
    ] == [1, 2, 3]
    assert events[-1] == {**events[-1], "event": "finish", "status": "FINISHED"}
    summaries = [e["summary"] for e in events if e["event"] == "summary"]
    assert (
        summaries[-1]["status"] == "Completed"
        and summaries[-1]["progress"] == 1.0
        and summaries[-1]["epoch"] == 3
    )

    from mlflow.tracking import MlflowClient

    client = MlflowClient(ml.tracking_uri)
    run = client.get_run(ml.run_id or "")
    assert run.info.status == "FINISHED" and run.data.params["plan.network.name"] == "unet"
    assert [m.step for m in client.get_metric_history(ml.run_id or "", "train_loss")] == [1, 2, 3]
    assert {a.path for a in client.list_artifacts(ml.run_id or "")} >= {"plan.json", "config.json", "plots"}
    assert run.data.tags["medseg.status"] == "Completed"

    (wandb_file,) = (tmp_path / "wb").rglob("run-*.wandb")
    wandb_run = read_run(wandb_file)
    assert wandb_run["config"]["plan"]["network"]["name"] == "unet"
    assert [h["_step"] for h in wandb_run["history"] if "train_loss" in h] == [1, 2, 3]
    assert wandb_run["summary"]["status"] == "Completed" and wandb_run["exit_code"] == 0
    assert (wandb_file.parent / "files" / "plan.json").is_file()

    tb_dir = tmp_path / "tb" / "TinyTrainer" / folder.root.name
    assert _tb_scalars(tb_dir, "train_loss") == [1, 2, 3]
    assert SECRET not in _all_text(tmp_path) and SECRET not in _all_text(ml_root)


def test_an_interrupted_run_is_killed_and_a_crashed_run_failed(tmp_path: Path, ml_root: Path) -> None:
    for error, status, label in (
        (KeyboardInterrupt(), "KILLED", "Interrupted"),
        (ValueError("boom"), "FAILED", "Failed"),
    ):
        root = tmp_path / status
        local, ml = JsonLinesFrontend(root / "events.jsonl"), MLflowFrontend(f"stop-{status}", root=ml_root)
        trainer = make_trainer(str(root / "exp"), [TrackingCallback([local, ml]), StopAt(3, error)])
        with pytest.raises(type(error)):
            trainer.train(5)
        events = _events(root / "events.jsonl")
        assert events[-1]["event"] == "finish" and events[-1]["status"] == status
        assert [e for e in events if e["event"] == "summary"][-1]["summary"]["status"] == label
        from mlflow.tracking import MlflowClient

        assert MlflowClient(ml.tracking_uri).get_run(ml.run_id or "").info.status == status


def test_a_resumed_run_continues_the_same_tracking_runs(
    tmp_path: Path, ml_root: Path, offline_wandb: None
) -> None:
    def frontends() -> list[Any]:
        return [
            JsonLinesFrontend(tmp_path / "events.jsonl"),
            MLflowFrontend("resume", root=ml_root),
            WandbFrontend("tests", directory=tmp_path / "wb"),
            TensorBoardFrontend(tmp_path / "tb"),
        ]

    first = frontends()
    trainer = make_trainer(str(tmp_path / "exp"), [TrackingCallback(first), StopAt(3, KeyboardInterrupt())])
    with pytest.raises(KeyboardInterrupt):
        trainer.train(4)
    assert trainer.folder is not None
    second = frontends()
    resumed = make_trainer(str(tmp_path / "exp"), [TrackingCallback(second)])
    resumed.recover_from(trainer.folder.root)
    resumed.continue_training()

    events = _events(tmp_path / "events.jsonl")
    assert len({e["run"] for e in events}) == 1
    assert [e["step"] for e in events if e["event"] == "metrics"] == [1, 2, 3, 4]
    assert [e["status"] for e in events if e["event"] == "finish"] == ["KILLED", "FINISHED"]

    from mlflow.tracking import MlflowClient

    client = MlflowClient(first[1].tracking_uri)
    assert second[1].run_id == first[1].run_id
    assert [m.step for m in client.get_metric_history(first[1].run_id, "train_loss")] == [1, 2, 3, 4]
    assert client.get_run(first[1].run_id).info.status == "FINISHED"
    assert len(client.search_runs([client.get_experiment_by_name("resume").experiment_id])) == 1

    attempts = [read_run(p) for p in sorted((tmp_path / "wb").rglob("run-*.wandb"))]
    assert len(attempts) == 2 and attempts[0]["id"] == attempts[1]["id"]
    steps = [h["_step"] for run in attempts for h in run["history"] if "train_loss" in h]
    assert steps == [1, 2, 3, 4] and [run["exit_code"] for run in attempts] == [130, 0]

    (tb_dir,) = {p.parent for p in (tmp_path / "tb").rglob("events.out.tfevents*")}
    assert _tb_scalars(tb_dir, "train_loss") == [1, 2, 3, 4]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_service_costs_one_warning_and_training_goes_on(
    tmp_path: Path, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTION_TOKEN", SECRET)
    port = _closed_port()
    notion = NotionFrontend("db-1", api_url=f"http://127.0.0.1:{port}/v1")
    local = JsonLinesFrontend(tmp_path / "events.jsonl")
    trainer = make_trainer(str(tmp_path / "exp"), [TrackingCallback([notion, local])])
    with caplog.at_level(logging.WARNING, logger="medseg.tracking"):
        trainer.train(2)
    warnings = [r.getMessage() for r in caplog.records if r.name == "medseg.tracking"]
    assert len(warnings) == 1 and warnings[0].startswith("tracking: notion start failed: ")
    assert "off for the rest of this run" in warnings[0] and "\n" not in warnings[0]
    assert [e["status"] for e in _events(tmp_path / "events.jsonl") if e["event"] == "finish"] == ["FINISHED"]


def test_the_best_checkpoint_is_logged_each_time_it_improves(tmp_path: Path, ml_root: Path) -> None:
    scores = {1: 0.3, 2: 0.6, 3: 0.5, 4: 0.7}  # improves at epochs 1, 2 and 4
    from mlflow.tracking import MlflowClient

    for log_checkpoint in (True, False):
        root = tmp_path / str(log_checkpoint)
        local = JsonLinesFrontend(root / "events.jsonl")
        ml = MLflowFrontend(f"checkpoint-{log_checkpoint}", root=ml_root)
        callback = TrackingCallback([local, ml], log_checkpoint=log_checkpoint)
        trainer = ScoredTrainer(str(root / "exp"), [callback], scores)
        folder = trainer.train(4)
        uploads = [e for e in _events(root / "events.jsonl") if e["event"] == "artifact"]
        checkpoints = [(e["step"], Path(e["path"])) for e in uploads if e["kind"] == "checkpoint"]
        client = MlflowClient(ml.tracking_uri)
        listed = [a.path for a in client.list_artifacts(ml.run_id or "", "checkpoints")]
        if not log_checkpoint:
            assert checkpoints == [] and listed == []
            continue
        best = folder.checkpoint("best")
        assert checkpoints == [(1, best), (2, best), (4, best)]
        assert listed == ["checkpoints/best.safetensors"]
        stored = client.download_artifacts(ml.run_id or "", "checkpoints/best.safetensors", str(root / "dl"))
        assert Path(stored).read_bytes() == best.read_bytes()  # the last upload: the best (epoch 4)
        from medseg.io.state import load_state

        assert load_state(Path(stored))[0]["trainer"]["best_epoch"] == 4


def test_notion_board_against_a_local_server(tmp_path: Path, monkeypatch: Any) -> None:
    token = "notion-secret-123"
    monkeypatch.setenv("NOTION_TOKEN", token)
    scores = {1: 0.25, 2: 0.625, 3: 0.5}
    with serve() as (fake, url):
        trainer = ScoredTrainer(
            str(tmp_path / "exp"),
            [TrackingCallback(NotionFrontend("db-1", api_url=url)), StopAt(2, KeyboardInterrupt())],
            scores,
        )
        with pytest.raises(KeyboardInterrupt):
            trainer.train(3)
        assert trainer.folder is not None and trainer.toolbox is not None
        ((page_id, page),) = fake.pages.items()
        assert page["Exp ID"]["title"][0]["text"]["content"] == f"ScoredTrainer/{trainer.folder.root.name}"
        assert page["Status"] == {"select": {"name": "Interrupted"}} and page["Epoch"] == {"number": 1}
        for column in (
            "Status",
            "Progress",
            "Trainer",
            "Model",
            "MACs (G)",
            "Params (M)",
            "Best score",
            "Time",
        ):
            assert column in fake.columns  # the missing board columns were added to the database
        assert page["Model"]["rich_text"][0]["text"]["content"] == "unet"
        assert sum(p.numel() for p in trainer.toolbox.network.parameters()) == ScoredTrainer.PARAMS
        assert page["Params (M)"] == {"number": 0.151}  # 151170 parameters
        assert page["MACs (G)"] == {"number": 0.039}  # 38.6 M multiply-accumulates per 16 x 16 patch
        assert page["Best score"] == {"number": 0.25}  # epoch 1, the only one before the interruption
        resumed = ScoredTrainer(
            str(tmp_path / "exp"), [TrackingCallback(NotionFrontend("db-1", api_url=url))], scores
        )
        resumed.recover_from(trainer.folder.root)
        resumed.continue_training()
        assert list(fake.pages) == [page_id]  # the same row, continued
        assert page["Status"] == {"select": {"name": "Completed"}} and page["Progress"] == {"number": 1.0}
        assert page["Best score"] == {"number": 0.625}  # epoch 2's; epoch 3 scored lower
        assert page["Params (M)"] == {"number": 0.151} and page["MACs (G)"] == {"number": 0.039}
        assert page["Time"]["date"]["end"] is not None
        assert {b["type"] for b in fake.children[page_id]} >= {"paragraph", "code"}  # parameters and the Plan
        bodies = json.dumps([body for *_, body in fake.requests])
        assert token not in bodies and all(
            h["Authorization"] == f"Bearer {token}" for _, _, h, _ in fake.requests
        )


def test_redact_replaces_secret_values(monkeypatch: Any) -> None:
    monkeypatch.setenv("NOTION_TOKEN", SECRET)
    assert redact({"a": [f"x{SECRET}y"]}) == {"a": ["x***y"]}


def test_missing_tokens_are_clear_errors(monkeypatch: Any) -> None:
    monkeypatch.delenv("NOTION_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="NOTION_TOKEN: environment variable not set"):
        NotionFrontend("db")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("NETRC", "/nonexistent")
    monkeypatch.setenv("HOME", "/nonexistent")
    with pytest.raises(ConfigError, match="WANDB_API_KEY: environment variable not set"):
        WandbFrontend("p")
