"""MLflow frontend, through ``MlflowClient`` (no global active run, so several frontends can coexist).

``tracking_uri``: an MLflow server (``http://host:5000``), or a local store; ``None`` takes
``MLFLOW_TRACKING_URI`` and else ``sqlite:///<root>/mlflow.db`` (recent MLflow needs a database for a
local store), whose artifacts go beside it in ``<root>/mlartifacts``. Credentials come from the
environment only (``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` or ``MLFLOW_TRACKING_TOKEN``,
read by MLflow itself). So that an unreachable server costs seconds and not MLflow's default of
several minutes of retries, ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` (2) and ``MLFLOW_HTTP_REQUEST_TIMEOUT``
(20 s) are set when they are not set already.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typing_extensions import override

from medseg.core.vocab import RunStatus
from medseg.tracking.base import ArtifactKind, BaseFrontend, finite_metrics, flat_params, redact, safe_key

_ARTIFACT_FOLDERS: dict[str, str | None] = {
    "plot": "plots",
    "preview": "previews",
    "checkpoint": "checkpoints",
    "file": None,
}
_BATCH = 100  # MLflow accepts at most 100 params (and 1000 metrics) per batch


class MLflowFrontend(BaseFrontend):
    """Logs to MLflow (see the module docstring for ``tracking_uri``)."""

    name = "mlflow"

    def __init__(
        self, experiment: str = "medseg", tracking_uri: str | None = None, root: str | Path = "."
    ) -> None:
        from mlflow.tracking import MlflowClient

        local_db = Path(root).resolve() / "mlflow.db"
        self.tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{local_db}"
        self.artifact_location: str | None = None
        if self.tracking_uri.startswith("sqlite:///"):
            db = Path(self.tracking_uri.removeprefix("sqlite:///"))
            db.parent.mkdir(parents=True, exist_ok=True)
            self.artifact_location = (db.parent / "mlartifacts").resolve().as_uri()
        if self.tracking_uri.startswith(("http://", "https://")):
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        self.client = MlflowClient(self.tracking_uri)
        self.experiment = experiment
        self.run_id: str | None = None

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return str(found.experiment_id)
        return str(self.client.create_experiment(self.experiment, artifact_location=self.artifact_location))

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Create the run and log the parameters, or set run ``run_id`` RUNNING again (a resumed run)."""
        from mlflow.entities import Param

        if run_id is not None:
            self.client.update_run(run_id, status="RUNNING")
            self.run_id = run_id
            return run_id
        run = self.client.create_run(self._experiment_id(), run_name=run_name, tags={"medseg.run": run_name})
        self.run_id = str(run.info.run_id)
        items = [Param(safe_key(k)[:250], v) for k, v in flat_params(params).items()]
        for first in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, params=items[first : first + _BATCH])
        return self.run_id

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log the finite metric values at ``step``."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        values = [Metric(safe_key(k), v, now, step) for k, v in finite_metrics(metrics).items()]
        if values:
            self.client.log_batch(self._id(), metrics=values)

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Upload a file (a plot or preview replaces the previous one of the same name)."""
        self.client.log_artifact(self._id(), str(path), _ARTIFACT_FOLDERS[kind])

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Store the document as a JSON artifact."""
        self.client.log_dict(self._id(), redact(dict(document)), name)

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """The run-level facts as ``medseg.<key>`` tags."""
        from mlflow.entities import RunTag

        tags = [
            RunTag(f"medseg.{safe_key(k)}", str(redact(v))[:5000])
            for k, v in summary.items()
            if v is not None
        ]
        if tags:
            self.client.log_batch(self._id(), tags=tags)

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """End the run with ``status`` (FINISHED, KILLED or FAILED)."""
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, status)

    def _id(self) -> str:
        if self.run_id is None:
            raise RuntimeError("MLflow run not started")
        return self.run_id
