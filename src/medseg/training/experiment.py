"""The experiment folder: ``<root>/<trainer>/<timestamp-id>/`` and its fixed layout.

Layout (documented in docs/experiment-folder.md)::

    checkpoints/latest.safetensors   written every epoch (atomic)
    checkpoints/best.safetensors     the best validation score so far
    checkpoints/epoch-NNNN.safetensors  every ``save_every`` epochs
    metrics.csv                      one row per epoch
    training.log                     everything the console printed, as plain text
    plots/*.png                      curves, updated each epoch
    previews/*.png                   worst validation case after each validation
    plan.json                        the Plan the run was trained with (also inside every checkpoint)
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExperimentFolder:
    """Paths of one run's folder."""

    root: Path

    @classmethod
    def create(cls, experiments_root: str | Path, trainer_name: str) -> ExperimentFolder:
        """A new, unique folder named by the start time plus a short random id."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = Path(experiments_root) / trainer_name / f"{stamp}-{secrets.token_hex(3)}"
        folder.mkdir(parents=True, exist_ok=False)
        out = cls(folder)
        for sub in (out.checkpoints, out.plots, out.previews):
            sub.mkdir(exist_ok=True)
        return out

    @property
    def checkpoints(self) -> Path:
        """Folder of checkpoint files."""
        return self.root / "checkpoints"

    @property
    def plots(self) -> Path:
        """Folder of curve plots."""
        return self.root / "plots"

    @property
    def previews(self) -> Path:
        """Folder of worst-case previews."""
        return self.root / "previews"

    @property
    def metrics_csv(self) -> Path:
        """The per-epoch metrics table."""
        return self.root / "metrics.csv"

    @property
    def log_file(self) -> Path:
        """The plain-text log."""
        return self.root / "training.log"

    def checkpoint(self, kind: str) -> Path:
        """Path of the ``latest``/``best``/``epoch-NNNN`` checkpoint."""
        return self.checkpoints / f"{kind}.safetensors"
