"""Weights & Biases frontend. The API key comes only from ``WANDB_API_KEY`` (or ``wandb login``'s netrc).

``mode`` ``None`` follows ``WANDB_MODE`` (``offline`` writes ``<directory>/wandb/offline-run-*``, to be
uploaded later with ``wandb sync``). A resumed training continues the same W&B run id
(``resume="allow"``; offline, each attempt is its own folder with that id, merged by ``wandb sync``).
Plots and previews are logged as images at the epoch's step; the Plan and the config as files of
the run; W&B's own console capture is off (it would fight the training console's progress bar).
"""

from __future__ import annotations

import json
import netrc
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from typing_extensions import override

from medseg.core.errors import ConfigError
from medseg.core.vocab import RunStatus
from medseg.tracking.base import ArtifactKind, BaseFrontend, finite_metrics, redact, safe_key

_EXIT_CODES = {"FINISHED": 0, "FAILED": 1, "KILLED": 130}


def _has_netrc_key() -> bool:
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc().authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


class WandbFrontend(BaseFrontend):
    """Logs to W&B (``mode`` defaults to the ``WANDB_MODE`` environment variable, else online)."""

    name = "wandb"

    def __init__(
        self,
        project: str = "medseg",
        directory: str | Path = ".",
        mode: str | None = None,
        entity: str | None = None,
    ) -> None:
        import wandb

        self.wandb = wandb
        self.project = project
        self.entity = entity
        self.directory = Path(directory)
        self.mode = mode or os.environ.get("WANDB_MODE") or "online"
        if self.mode == "online" and not os.environ.get("WANDB_API_KEY") and not _has_netrc_key():
            raise ConfigError(
                "WANDB_API_KEY: environment variable not set (W&B online needs it; "
                "or set tracking.wandb_mode: offline)"
            )
        self.run: Any = None
        self.step = 0

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Start a W&B run with the parameters as its config, or continue run ``run_id``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.run = self.wandb.init(
            project=self.project,
            entity=self.entity,
            name=run_name,
            id=run_id,
            resume="allow" if run_id else None,
            config=None if run_id else redact(dict(params)),
            dir=str(self.directory),
            mode=self.mode,  # type: ignore[arg-type]
            reinit="create_new",
            settings=self.wandb.Settings(console="off"),
        )
        return str(self.run.id)

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log metric values at ``step``."""
        self.step = max(self.step, step)
        self.run.log({safe_key(k): v for k, v in finite_metrics(metrics).items()}, step=step)

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Images (plots, previews) at the step; other files saved with the run."""
        if kind in ("plot", "preview") and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            image = self.wandb.Image(str(path))
            self.run.log({f"{kind}s/{path.stem}": image}, step=max(self.step, step or 0))
            return
        self.run.save(str(path), base_path=str(path.parent), policy="now")

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Write the document into the run's files."""
        target = Path(self.run.dir) / name
        target.write_text(json.dumps(redact(dict(document)), indent=2), encoding="utf-8")
        self.run.save(str(target), base_path=str(self.run.dir), policy="now")

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """The run-level facts into the run's summary."""
        self.run.summary.update({k: v for k, v in redact(dict(summary)).items() if v is not None})

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Finish the run (exit code 0, or non-zero for a killed or failed run)."""
        if self.run is not None:
            self.run.finish(exit_code=_EXIT_CODES[status])
