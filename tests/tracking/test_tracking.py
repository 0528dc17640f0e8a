"""Frontends receive the run; secrets from the environment never reach any file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from medseg.core.errors import ConfigError
from medseg.tracking import JsonLinesFrontend, create_hybrid_frontend, redact
from medseg.tracking.mlflow_frontend import MLflowFrontend
from medseg.tracking.notion import NotionFrontend
from medseg.tracking.tensorboard_frontend import TensorBoardFrontend
from medseg.tracking.wandb_frontend import WandbFrontend
from medseg.training.callbacks.tracking import TrackingCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from resume_job import make_trainer

SECRET = "s3cr3t-token-value-12345"


def _all_text(root: Path) -> str:
    chunks = []
    for p in root.rglob("*"):
        if p.is_file():
            chunks.append(p.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


def test_training_run_reaches_every_frontend_and_no_secret_is_written(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("NOTION_TOKEN", SECRET)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    local = JsonLinesFrontend(tmp_path / "events.jsonl")
    ml = MLflowFrontend("tests", root=tmp_path)
    wb = WandbFrontend("tests", directory=tmp_path / "wandb")
    tb = TensorBoardFrontend(tmp_path / "tb")
    trainer = make_trainer(str(tmp_path / "exp"), [TrackingCallback(create_hybrid_frontend(local, ml, wb, tb))])
    trainer.plan = trainer.plan.model_copy(update={"reasons": [f"token={SECRET}"]})  # a secret in a parameter is redacted
    trainer.train(2)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["event"] for e in events] == ["start", "metrics", "metrics", "finish"]
    assert events[1]["step"] == 1 and "train_loss" in events[1]["metrics"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(ml.tracking_uri)
    history = client.get_metric_history(ml.run_id, "train_loss")
    assert [m.step for m in history] == [1, 2]
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").rglob("*"))
    assert any((tmp_path / "wandb").rglob("*.wandb"))
    assert SECRET not in _all_text(tmp_path)


def test_redact_replaces_secret_values(monkeypatch: Any) -> None:
    monkeypatch.setenv("NOTION_TOKEN", SECRET)
    assert redact({"a": [f"x{SECRET}y"]}) == {"a": ["x***y"]}


def test_notion_token_only_in_the_authorization_header(monkeypatch: Any) -> None:
    calls: list[tuple[str, str, dict[str, str], dict[str, Any]]] = []

    def transport(method: str, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        calls.append((method, url, headers, body))
        return {"id": "page-1"}

    monkeypatch.setenv("NOTION_TOKEN", SECRET)
    frontend = NotionFrontend("db-1", number_properties=("val_score",), transport=transport)
    frontend.start("run-a", {"lr": 0.01})
    frontend.log_metrics({"val_score": 0.8, "other": 1.0}, step=3)
    assert calls[0][0] == "POST" and calls[0][3]["parent"] == {"database_id": "db-1"}
    assert calls[1][1].endswith("/pages/page-1") and calls[1][3] == {"properties": {"val_score": {"number": 0.8}}}
    assert all(SECRET not in json.dumps(body) for *_, body in calls)
    assert calls[0][2]["Authorization"] == f"Bearer {SECRET}"


def test_notion_without_token_is_a_clear_error(monkeypatch: Any) -> None:
    monkeypatch.delenv("NOTION_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="NOTION_TOKEN: environment variable not set"):
        NotionFrontend("db")
