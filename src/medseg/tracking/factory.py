"""The frontends a config's ``tracking`` section names, built for one work folder.

Unset paths go under ``WORK/tracking/`` (``mlflow.db`` + ``mlartifacts/``, ``wandb/``,
``tensorboard/``, ``events.jsonl``); relative paths are relative to ``WORK``. A frontend that cannot
be built (a missing package, token or database id) is a one-line :class:`ConfigError` before
training starts; a service that fails later only costs warnings (:mod:`medseg.tracking.guard`).
"""

from __future__ import annotations

import os
from pathlib import Path

from medseg.config.schema import Tracking
from medseg.core.errors import ConfigError
from medseg.tracking.base import Frontend

_PACKAGES = {"mlflow": "mlflow", "wandb": "wandb", "tensorboard": "tensorboard"}


def _path(value: str | None, work: Path, default: str) -> Path:
    path = Path(value) if value is not None else Path(default)
    return path if path.is_absolute() else work / path


def build_frontend(
    name: str, settings: Tracking, work_dir: str | Path, default_experiment: str = "medseg"
) -> Frontend:
    """One frontend by name (``mlflow``, ``tensorboard``, ``wandb``, ``notion``, ``local``)."""
    work = Path(work_dir)
    experiment = settings.experiment or default_experiment
    try:
        if name == "mlflow":
            from medseg.tracking.mlflow_frontend import MLflowFrontend

            return MLflowFrontend(experiment, settings.mlflow_uri, root=work / "tracking")
        if name == "wandb":
            from medseg.tracking.wandb_frontend import WandbFrontend

            return WandbFrontend(
                settings.wandb_project or experiment,
                directory=work / "tracking",
                mode=settings.wandb_mode,
                entity=settings.wandb_entity,
            )
        if name == "tensorboard":
            import tensorboard  # noqa: F401  (SummaryWriter needs it; fail here, not mid-run)

            from medseg.tracking.tensorboard_frontend import TensorBoardFrontend

            return TensorBoardFrontend(_path(settings.tensorboard_dir, work, "tracking/tensorboard"))
        if name == "local":
            from medseg.tracking.local import JsonLinesFrontend

            return JsonLinesFrontend(_path(settings.local_file, work, "tracking/events.jsonl"))
    except ImportError:
        package = _PACKAGES.get(name, name)
        raise ConfigError(
            f"tracking.frontends: '{name}' needs the {package} package (pip install {package})"
        ) from None
    if name == "notion":
        from medseg.tracking.notion import NotionFrontend

        database = settings.notion_database or os.environ.get("NOTION_DATABASE_ID")
        if not database:
            raise ConfigError(
                "tracking.notion_database: not set (the id of the Notion database; or set NOTION_DATABASE_ID)"
            )
        return NotionFrontend(database)
    raise ConfigError(
        f"tracking.frontends: unknown frontend {name!r}; valid choices: mlflow, tensorboard, wandb, "
        "notion, local"
    )


def build_frontends(
    settings: Tracking, work_dir: str | Path, default_experiment: str = "medseg"
) -> list[Frontend]:
    """Every frontend of ``settings.frontends``, in order."""
    return [build_frontend(n, settings, work_dir, default_experiment) for n in settings.frontends]
