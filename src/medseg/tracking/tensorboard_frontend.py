"""TensorBoard frontend: event files in ``log_dir/<run name>`` (``tensorboard --logdir log_dir``).

Scalars per epoch, plots and previews as images at their step, the parameters, documents, the final
summary and the status as text. A resumed run writes into the same folder and purges what the
interrupted attempt logged after its last checkpoint (``purge_step``), so no step appears twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typing_extensions import override

from medseg.core.vocab import RunStatus
from medseg.tracking.base import ArtifactKind, BaseFrontend, finite_metrics, flat_params, redact


class TensorBoardFrontend(BaseFrontend):
    """Writes with ``torch.utils.tensorboard.SummaryWriter``."""

    name = "tensorboard"

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self.run_dir: Path | None = None
        self.writer: Any = None
        self.resumed = False
        self.step = 0
        self.summary: dict[str, Any] = {}
        self._pending: list[
            tuple[str, str]
        ] = []  # texts of a resumed run, written once its purge step is known

    def _writer(self, step: int | None = None) -> Any:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            assert self.run_dir is not None, "TensorBoard run not started"
            purge = step if self.resumed and step is not None else None
            self.writer = SummaryWriter(str(self.run_dir), purge_step=purge)
            for tag, text in self._pending:
                self.writer.add_text(tag, text)
            self._pending.clear()
        return self.writer

    @override
    def start(self, run_name: str, params: Mapping[str, Any], run_id: str | None = None) -> str | None:
        """Open ``log_dir/run_name`` (or the folder ``run_id`` names) and write the parameters as text."""
        self.run_dir = Path(run_id) if run_id else self.log_dir / run_name
        self.resumed = run_id is not None
        if not self.resumed:
            rows = "\n".join(f"| {k} | {v} |" for k, v in flat_params(params).items())
            self._writer().add_text("params", f"| parameter | value |\n|---|---|\n{rows}")
        return str(self.run_dir)

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Add one scalar per metric."""
        writer = self._writer(step)
        self.step = max(self.step, step)
        for key, value in finite_metrics(metrics).items():
            writer.add_scalar(key, value, step)
        writer.flush()

    @override
    def log_artifact(self, path: Path, kind: ArtifactKind = "file", step: int | None = None) -> None:
        """PNG plots and previews become images at ``step``; TensorBoard keeps no other files."""
        if kind not in ("plot", "preview") or path.suffix.lower() != ".png":
            return
        import matplotlib.image as mpimg

        image = mpimg.imread(path)[..., :3]
        self._writer(step).add_image(
            f"{kind}s/{path.stem}", image, step if step is not None else self.step, dataformats="HWC"
        )
        self.writer.flush()

    @override
    def log_document(self, name: str, document: Mapping[str, Any]) -> None:
        """The document as indented JSON text."""
        lines = json.dumps(redact(dict(document)), indent=2).splitlines()
        text = "\n".join(f"    {line}" for line in lines)
        if self.writer is None and self.resumed:
            self._pending.append((name, text))
        else:
            self._writer().add_text(name, text)

    @override
    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Kept; written as text when the run finishes."""
        self.summary.update(redact(dict(summary)))

    @override
    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Write the summary and the status, close the event file."""
        if self.run_dir is None:
            return
        writer = self._writer()
        rows = "\n".join(f"| {k} | {v} |" for k, v in self.summary.items() if v is not None)
        if rows:
            writer.add_text("summary", f"| key | value |\n|---|---|\n{rows}", self.step)
        writer.add_text("status", status, self.step)
        writer.close()
        self.writer = None
