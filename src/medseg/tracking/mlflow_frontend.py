"""MLflow frontend. A local store needs a ``sqlite:///`` URI (the default here) on recent MLflow."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medseg.tracking.base import flat_params


class MLflowFrontend:
    """Logs to MLflow; ``tracking_uri`` defaults to ``sqlite:///<root>/mlflow.db``."""

    def __init__(self, experiment: str = "medseg", tracking_uri: str | None = None, root: str | Path = ".") -> None:
        import mlflow

        self.mlflow = mlflow
        self.tracking_uri = tracking_uri or f"sqlite:///{Path(root).resolve() / 'mlflow.db'}"
        self.experiment = experiment
        self.run_id: str | None = None

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Start an MLflow run and log the parameters."""
        self.mlflow.set_tracking_uri(self.tracking_uri)
        self.mlflow.set_experiment(self.experiment)
        run = self.mlflow.start_run(run_name=run_name)
        self.run_id = run.info.run_id
        self.mlflow.log_params(flat_params(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log finite metric values at ``step``."""
        finite = {k.replace("/", "_"): float(v) for k, v in metrics.items() if v == v and abs(v) != float("inf")}
        self.mlflow.log_metrics(finite, step=step)

    def log_artifact(self, path: Path) -> None:
        """Upload a file to the run."""
        self.mlflow.log_artifact(str(path))

    def finish(self) -> None:
        """End the run."""
        self.mlflow.end_run()
