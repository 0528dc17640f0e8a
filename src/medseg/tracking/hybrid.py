"""Report to several frontends at once (MIP Candy's ``create_hybrid_frontend``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typing_extensions import override

from medseg.core.vocab import RunStatus
from medseg.tracking.base import ArtifactKind, BaseFrontend, Frontend


class HybridFrontend(BaseFrontend):
    """Forwards every call to each frontend, in order; its run id is the JSON of theirs."""

    name = "hybrid"

    def __init__(self, *frontends: Frontend) -> None:
        self.frontends = list(frontends)

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Start the run everywhere (continue each member's run when ``run_id`` holds theirs)."""
        previous: dict[str, str | None] = json.loads(run_id) if run_id else {}
        ids = {}
        for i, f in enumerate(self.frontends):
            key = f"{i}:{f.name}"
            ids[key] = f.start(run_name, params, previous.get(key))
        return json.dumps(ids)

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log metrics everywhere."""
        for f in self.frontends:
            f.log_metrics(metrics, step)

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Attach the file everywhere."""
        for f in self.frontends:
            f.log_artifact(path, kind, step)

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Attach the document everywhere."""
        for f in self.frontends:
            f.log_document(name, document)

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Update the summary everywhere."""
        for f in self.frontends:
            f.log_summary(summary)

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Finish everywhere."""
        for f in self.frontends:
            f.finish(status)


def create_hybrid_frontend(*frontends: Frontend) -> HybridFrontend:
    """Combine frontends (the paper's factory name)."""
    return HybridFrontend(*frontends)
