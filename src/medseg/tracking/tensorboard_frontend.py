"""TensorBoard frontend (event files in a folder)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medseg.tracking.base import flat_params


class TensorBoardFrontend:
    """Writes scalars and the parameters (as text) with ``torch.utils.tensorboard``."""

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self.writer: Any = None

    def start(self, run_name: str, params: Mapping[str, Any]) -> None:
        """Open an event file under ``log_dir/run_name``."""
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.log_dir / run_name))
        text = "\n".join(f"    {k}: {v}" for k, v in flat_params(params).items())
        self.writer.add_text("params", text)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Add one scalar per metric."""
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def log_artifact(self, path: Path) -> None:
        """TensorBoard has no file attachments; images are added when they are PNGs."""
        if path.suffix.lower() == ".png":
            import matplotlib.image as mpimg

            self.writer.add_image(path.stem, mpimg.imread(path)[..., :3], dataformats="HWC")

    def finish(self) -> None:
        """Close the event file."""
        self.writer.close()
