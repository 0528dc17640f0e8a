"""Report to several frontends at once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medseg.tracking.base import Frontend


class HybridFrontend:
    """Forwards every call to each frontend, in order."""

    def __init__(self, *frontends: Frontend) -> None:
        self.frontends = list(frontends)

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Start the run everywhere."""
        for f in self.frontends:
            f.start(run_name, params)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log metrics everywhere."""
        for f in self.frontends:
            f.log_metrics(metrics, step)

    def log_artifact(self, path: Path) -> None:
        """Attach the file everywhere."""
        for f in self.frontends:
            f.log_artifact(path)

    def finish(self) -> None:
        """Finish everywhere."""
        for f in self.frontends:
            f.finish()


def create_hybrid_frontend(*frontends: Frontend) -> HybridFrontend:
    """Combine frontends (the paper's factory name)."""
    return HybridFrontend(*frontends)
