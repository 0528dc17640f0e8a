"""The Frontend protocol: where a run's parameters, metrics, documents, files and status are reported.

A run's life, in the order the training callback calls it:

- ``start(run_name, params, run_id=None)`` opens a run (or, given the id an earlier ``start``
  returned, continues that run: a resumed training appends to the same tracking run) and returns
  the run's id;
- ``log_document(name, document)`` attaches a JSON document (the Plan, the config);
- ``log_metrics(metrics, step)`` records one epoch's values (``step`` = the epoch number, 1..N);
- ``log_artifact(path, kind, step)`` attaches a file: a ``plot`` (replaced as it is redrawn), a
  ``preview`` (one per validation), a ``checkpoint`` or any other ``file``;
- ``log_summary(summary)`` updates the run-level facts (status, progress, best score, MACs, ...;
  the columns of MIP Candy's Notion board, :data:`SUMMARY_KEYS`);
- ``finish(status)`` closes it as ``FINISHED``, ``KILLED`` (interrupted) or ``FAILED`` (crashed).

Secrets (W&B and Notion tokens, MLflow passwords) are read from the environment by the frontends
that need them, never taken as arguments that could end up in a config file, and :func:`redact`
removes their values from anything a frontend is asked to log.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from medseg.core.vocab import RunStatus

SECRET_ENV_VARS = ("WANDB_API_KEY", "NOTION_TOKEN", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
ArtifactKind = Literal["plot", "preview", "checkpoint", "file"]
#: the run-level facts of :meth:`Frontend.log_summary` (MIP Candy's Notion board columns)
SUMMARY_KEYS = (
    "status",
    "progress",
    "epoch",
    "num_epochs",
    "trainer",
    "model",
    "macs_g",
    "params_m",
    "best_score",
    "best_epoch",
    "predicted_final",
    "started",
    "ended",
    "folder",
)
#: ``summary["status"]`` while running and after each way a run can end
STATUS_LABELS: dict[str, str] = {
    "RUNNING": "Running",
    "FINISHED": "Completed",
    "KILLED": "Interrupted",
    "FAILED": "Failed",
}


@runtime_checkable
class Frontend(Protocol):
    """Receives a run's life (see the module docstring); ``name`` says which service it is."""

    name: str

    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Open a run (or continue ``run_id``), record its parameters; returns the run's id."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record metric values at ``step`` (the epoch number, 1..N)."""

    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Attach a file (plot, preview, checkpoint) to the run."""

    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Attach a JSON document (``plan.json``, ``config.json``)."""

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Update the run-level facts (status, progress, best score, ...)."""

    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Close the run with ``status``."""


class BaseFrontend:
    """No-op defaults for the optional parts of the protocol (documents, summary, files)."""

    name = "frontend"

    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Open a run; frontends override."""
        raise NotImplementedError

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record metric values; frontends override."""
        raise NotImplementedError

    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """Files are not kept by this frontend."""

    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """Documents are not kept by this frontend."""

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Run-level facts are not kept by this frontend."""

    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Nothing to close."""


def redact(value: Any) -> Any:
    """Replace the value of any secret environment variable found in ``value`` (recursively)."""
    secrets = [os.environ[v] for v in SECRET_ENV_VARS if os.environ.get(v)]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as ``{"a.b": "value"}`` strings (what tracking services accept), redacted."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(redact(value))[:500]
    return out


def finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numeric values of ``metrics`` (NaN/inf and non-numbers dropped; services refuse them)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(float(value)):
            out[key] = float(value)
    return out


_BAD_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def safe_key(key: str) -> str:
    """``key`` with the characters MLflow/W&B refuse replaced by ``_`` (``Dice (left)`` -> ``Dice _left_``)."""
    return _BAD_KEY.sub("_", key)
