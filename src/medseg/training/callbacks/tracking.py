"""Send a run's life to tracking frontends as it happens (docs/tracking.md).

- start: parameters (trainer, seed, loop settings, the ``training`` config, the Plan), then the Plan
  and the config as documents, and the summary (status Running, trainer, model, MACs, parameters);
- every epoch, once its checkpoint is safely written: the metrics row at step = the epoch number
  (1..N, the ``epoch`` column of metrics.csv), the previews that changed, the plots (when changed,
  every ``plots_every`` epochs), the best checkpoint when it improved (``log_checkpoint``), and the
  summary (progress, best score, predicted best);
- end: final plots, status Completed and ``finish("FINISHED")``; a ``KeyboardInterrupt`` finishes
  the run as ``KILLED`` (Interrupted), any other exception as ``FAILED``.

The frontends' run ids are the callback's state, which every checkpoint keeps: a resumed training
continues the same tracking runs. Each frontend is wrapped in a
:class:`~medseg.tracking.guard.GuardedFrontend`, so a tracking failure is one warning line and
training goes on.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from medseg.core.vocab import RunStatus
from medseg.tracking.base import STATUS_LABELS, ArtifactKind, Frontend
from medseg.tracking.guard import GuardedFrontend
from medseg.tracking.hybrid import HybridFrontend
from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer

#: with ``plots_every`` unset, plots are uploaded about this many times per run (and at the end)
PLOT_UPLOADS_PER_RUN = 50


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).astimezone().isoformat(timespec="seconds")


def _members(frontend: Frontend | Sequence[Frontend]) -> list[Frontend]:
    items = [frontend] if not isinstance(frontend, Sequence) else list(frontend)
    out: list[Frontend] = []
    for f in items:
        out.extend(_members(f.frontends) if isinstance(f, HybridFrontend) else [f])
    return out


class TrackingCallback(Callback):
    """Report the run to ``frontend`` (one, a sequence, or a hybrid); see the module docstring.

    Args:
        frontend: where to report.
        config: the effective config document (logged as ``config.json``, its ``training`` section
            as parameters).
        log_checkpoint: upload ``best.safetensors`` each time it improves.
        plots_every: upload the plots every that many epochs (``None``: about 50 times per run).
    """

    def __init__(
        self,
        frontend: Frontend | Sequence[Frontend],
        config: Mapping[str, Any] | None = None,
        *,
        log_checkpoint: bool = False,
        plots_every: int | None = None,
    ) -> None:
        self.frontends = [GuardedFrontend(f) for f in _members(frontend)]
        self.config = dict(config) if config is not None else None
        self.log_checkpoint = log_checkpoint
        self.plots_every = plots_every
        self.run_ids: dict[str, str] = {}
        self.started_at: str | None = None
        self.summary: dict[str, Any] = {}
        self._uploaded: dict[Path, int] = {}

    def _keys(self) -> list[str]:
        return [f"{i}:{f.name}" for i, f in enumerate(self.frontends)]

    def _params(self, trainer: Trainer) -> dict[str, Any]:
        assert trainer.folder is not None
        params: dict[str, Any] = {
            "trainer": trainer.name,
            "folder": str(trainer.folder.root.resolve()),
            "seed": trainer.seed,
            **trainer.train_kwargs,
        }
        if self.config is not None and "training" in self.config:
            params["training"] = self.config["training"]
        params["plan"] = trainer.describe() or {}
        return params

    @override
    def on_train_start(self, trainer: Trainer) -> None:
        from medseg.training.sanity import cached_sanity_check

        assert trainer.folder is not None and trainer.toolbox is not None
        run_name = f"{trainer.name}/{trainer.folder.root.name}"
        params = self._params(trainer)
        resumed = bool(self.run_ids)
        for key, f in zip(self._keys(), self.frontends, strict=True):
            run_id = f.start(run_name, params, self.run_ids.get(key))
            if run_id is not None:
                self.run_ids[key] = run_id
        plan = trainer.describe()
        # a resumed run has its Plan already (it cannot change); the config may (e.g. more epochs)
        documents = (
            [("config.json", self.config)] if resumed else [("plan.json", plan), ("config.json", self.config)]
        )
        for name, document in documents:
            if document:
                self._each("log_document", name, document)
        self.started_at = self.started_at or _now()
        network = trainer.toolbox.network
        self.summary = {
            "trainer": trainer.name,
            "model": (plan or {}).get("network", {}).get("name"),
            "params_m": round(sum(p.numel() for p in network.parameters()) / 1e6, 3),
            "started": self.started_at,
            "folder": str(trainer.folder.root.resolve()),
        }
        try:
            report = cached_sanity_check(network, trainer.input_shape, trainer.device)
            self.summary["macs_g"] = round(report.macs / 1e9, 3)
        except (ValueError, RuntimeError) as exc:  # the console reports a failing sanity check
            trainer.logger.debug("no MACs for tracking: %s", exc)
        self._send_summary(trainer, "RUNNING")

    def _each(self, method: str, *args: Any) -> None:
        for f in self.frontends:
            getattr(f, method)(*args)

    def _send_summary(self, trainer: Trainer, status: str) -> None:
        row = trainer.history[-1] if trainer.history else {}
        best = trainer.best_score if math.isfinite(trainer.best_score) else None
        self.summary.update(
            {
                "status": STATUS_LABELS[status],
                "epoch": trainer.epoch,
                "num_epochs": trainer.num_epochs,
                "progress": round(trainer.epoch / max(1, trainer.num_epochs), 4),
                "best_score": best,
                "best_epoch": trainer.best_epoch or None,
                "predicted_final": row.get("predicted_final"),
            }
        )
        if status != "RUNNING":
            self.summary["ended"] = _now()
        self._each("log_summary", dict(self.summary))

    def _upload_changed(self, folder: Path, kind: ArtifactKind, step: int) -> None:
        for path in sorted(folder.glob("*.png")):
            stamp = path.stat().st_mtime_ns
            if self._uploaded.get(path) != stamp:
                self._uploaded[path] = stamp
                self._each("log_artifact", path, kind, step)

    def _plot_period(self, trainer: Trainer) -> int:
        return self.plots_every or max(1, round(trainer.num_epochs / PLOT_UPLOADS_PER_RUN))

    @override
    def on_save_checkpoint(self, trainer: Trainer, kind: str, path: str) -> None:
        assert trainer.folder is not None
        step = trainer.epoch_number
        if kind == "best" and self.log_checkpoint:
            self._each("log_artifact", Path(path), "checkpoint", step)
        if kind != "latest":
            return
        self._each("log_metrics", {k: v for k, v in trainer.history[-1].items() if k != "epoch"}, step)
        self._upload_changed(trainer.folder.previews, "preview", step)
        if step % self._plot_period(trainer) == 0:
            self._upload_changed(trainer.folder.plots, "plot", step)
        self._send_summary(trainer, "RUNNING")

    def _finish(self, trainer: Trainer, status: RunStatus) -> None:
        if trainer.folder is not None and trainer.folder.plots.is_dir():
            self._upload_changed(trainer.folder.plots, "plot", trainer.epoch_number)
        self._send_summary(trainer, status)
        self._each("finish", status)

    @override
    def on_train_end(self, trainer: Trainer) -> None:
        self._finish(trainer, "FINISHED")

    @override
    def on_exception(self, trainer: Trainer, exception: BaseException) -> None:
        if any(f.started for f in self.frontends):
            self._finish(trainer, "KILLED" if isinstance(exception, KeyboardInterrupt) else "FAILED")

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"run_ids": dict(self.run_ids), "started_at": self.started_at}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_ids = {str(k): str(v) for k, v in state.get("run_ids", {}).items()}
        self.started_at = state.get("started_at")
