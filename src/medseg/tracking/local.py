"""A local frontend: one JSON line per event in a file (no service needed)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medseg.tracking.base import flat_params, redact


class JsonLinesFrontend:
    """Appends ``{"event": ..., "time": ..., ...}`` lines to ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _write(self, event: str, **data: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "time": time.time(), **redact(data)}) + "\n")

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Record the run's start and parameters."""
        self._write("start", run=run_name, params=flat_params(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record metric values."""
        self._write("metrics", step=step, metrics=dict(metrics))

    def log_artifact(self, path: Path) -> None:
        """Record a file's path."""
        self._write("artifact", path=str(path))

    def finish(self) -> None:
        """Record the end of the run."""
        self._write("finish")
