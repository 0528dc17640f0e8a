"""A local frontend: one JSON line per event in a file (no service needed).

Every line is ``{"event": ..., "run": <run id>, "time": <unix seconds>, ...}``; several runs may
share one file (a resumed run writes under its first id). Events: ``start`` (``params``,
``resumed``), ``document`` (``name``, ``document``), ``metrics`` (``step``, ``metrics``),
``artifact`` (``path``, ``kind``, ``step``), ``summary`` (``summary``), ``finish`` (``status``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typing_extensions import override

from medseg.core.vocab import RunStatus
from medseg.tracking.base import ArtifactKind, BaseFrontend, finite_metrics, flat_params, redact


class JsonLinesFrontend(BaseFrontend):
    """Appends ``{"event": ..., "run": ..., "time": ..., ...}`` lines to ``path``."""

    name = "local"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.run_id: str | None = None

    def _write(self, event: str, **data: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"event": event, "run": self.run_id, "time": time.time(), **redact(data)}, default=str
        )
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Record the run's start and parameters."""
        self.run_id = run_id or f"{run_name}#{secrets.token_hex(3)}"
        self._write("start", name=run_name, resumed=run_id is not None, params=flat_params(params))
        return self.run_id

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record metric values."""
        self._write("metrics", step=step, metrics=finite_metrics(metrics))

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Record a file's path."""
        self._write("artifact", path=str(path), kind=kind, step=step)

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Record the document whole."""
        self._write("document", name=name, document=dict(document))

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Record the run-level facts."""
        self._write("summary", summary=dict(summary))

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Record the end of the run."""
        self._write("finish", status=status)
