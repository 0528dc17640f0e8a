"""The Frontend protocol: where a run's parameters, metrics and files are reported.

Secrets (W&B and Notion tokens) are read from the environment by the frontends that need them,
never taken as arguments that could end up in a config file, and :func:`redact` removes their
values from anything a frontend is asked to log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

SECRET_ENV_VARS = ("WANDB_API_KEY", "NOTION_TOKEN", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


@runtime_checkable
class Frontend(Protocol):
    """Receives a run's life: start, metrics per step, files, finish."""

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Open a run and record its parameters."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record metric values at ``step`` (the epoch)."""

    def log_artifact(self, path: Path) -> None:
        """Attach a file (plot, preview, checkpoint) to the run."""

    def finish(self) -> None:
        """Close the run."""


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
        if isinstance(value, Mapping):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(redact(value))[:500]
    return out
