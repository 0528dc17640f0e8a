"""Weights & Biases frontend. The API key comes only from ``WANDB_API_KEY``; ``WANDB_MODE=offline`` works."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medseg.tracking.base import flat_params


class WandbFrontend:
    """Logs to W&B (``mode`` defaults to the ``WANDB_MODE`` environment variable)."""

    def __init__(self, project: str = "medseg", directory: str | Path = ".", mode: str | None = None) -> None:
        import wandb

        self.wandb = wandb
        self.project = project
        self.directory = Path(directory)
        self.mode = mode
        self.run: Any = None

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Start a W&B run with the parameters as its config."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.run = self.wandb.init(project=self.project, name=run_name, config=flat_params(params),
                                   dir=str(self.directory), mode=self.mode, reinit=True)  # type: ignore[arg-type]

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log metric values at ``step``."""
        self.run.log(dict(metrics), step=step)

    def log_artifact(self, path: Path) -> None:
        """Save a file with the run."""
        self.run.save(str(path), base_path=str(path.parent), policy="now")

    def finish(self) -> None:
        """Finish the run."""
        self.run.finish()
