"""The generic :class:`Trainer`: a lifecycle with small overridable builders and named callback hooks.

Subclasses (or presets) supply ``build_network(example_shape)`` and may override any other builder;
behaviour around the loop (console, CSV, plots, previews, early stopping, tracking, fitting a time
budget) is added with callbacks. Every epoch ends with atomic checkpoints holding the complete state
(``best`` first when the score improved, then ``latest``, so ``best`` is never older than what
``latest`` knows), and ``recover_from(folder)`` + ``continue_training()`` reproduce an uninterrupted
run bit for bit on CPU in deterministic mode. A run that fails before its first checkpoint removes
its folder, so nothing half-made is picked up later.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medseg.core import termination
from medseg.core.atomic import TEMP_PREFIX, remove_stale_temporaries, write_text_atomic
from medseg.core.faults import kill_point
from medseg.io.state import CheckpointError, load_state, save_state
from medseg.tracking.base import redact
from medseg.training import distributed
from medseg.training.callback import Callback
from medseg.training.ema import EMA
from medseg.training.experiment import ExperimentFolder
from medseg.training.rng import rng_state, seed_everything, set_rng_state
from medseg.training.schedulers import build_lr_scheduler, set_total_steps
from medseg.training.toolbox import TrainerToolbox

CHECKPOINT_FORMAT = "medseg-checkpoint-2"


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class Trainer:
    """Training lifecycle. Override ``build_network`` (required) and ``train_step``/``validate``.

    Args:
        experiments_root: folder under which ``<TrainerName>/<timestamp-id>/`` is created.
        train_loader: an iterable of batches (a ``DataLoader``); a fresh iterator is made each epoch.
        val_data: whatever ``validate`` consumes (whole validation cases for segmentation), or None.
        device: where to train.
        callbacks: extra callbacks (the preset adds console/CSV/plots/previews/checkpoint ones).
        seed: seed for python/numpy/torch; with ``deterministic`` deterministic kernels are forced.
        name: the run's name (its folder is ``experiments_root/name/<timestamp-id>``).

    The validation score is higher-is-better (mean foreground Dice, or the negated loss).
    """

    def __init__(
        self,
        experiments_root: str | Path,
        train_loader: Iterable[Any],
        val_data: Any = None,
        *,
        device: str | torch.device = "cpu",
        callbacks: list[Callback] | None = None,
        seed: int = 0,
        deterministic: bool = False,
        name: str | None = None,
    ) -> None:
        self.experiments_root = Path(experiments_root)
        self.train_loader = train_loader
        self.val_data = val_data
        self.device = torch.device(device)
        self.callbacks: list[Callback] = list(callbacks or [])
        self.seed = seed
        self.deterministic = deterministic
        self.name = name or type(self).__name__
        self.logger = logging.getLogger(f"medseg.{self.name}")
        self.folder: ExperimentFolder | None = None
        self.toolbox: TrainerToolbox | None = None
        #: epochs completed so far (the loop counter; 0 before the first epoch)
        self.epoch = 0
        #: the one epoch number users see (1..N): the epoch in progress, in every hook of that epoch
        #: up to and including ``on_epoch_end``/``on_save_checkpoint``; the ``epoch`` column of
        #: metrics.csv, the console and the tracking step all say this number
        self.epoch_number = 0
        self.num_epochs = 0
        self.steps_per_epoch: int | None = None
        self.val_every = 1
        self.save_every = 0
        self.best_score = -math.inf
        #: epoch number (1..N) of the best validation score; 0 = no validation yet
        self.best_epoch = 0
        self.history: list[dict[str, float]] = []
        #: values callbacks add to the current epoch's metrics row (e.g. the curriculum stage)
        self.epoch_info: dict[str, float] = {}
        self.stop_requested = False
        self.train_kwargs: dict[str, Any] = {}
        self.input_shape: tuple[int, ...] = ()
        #: the clock epoch times are measured with (replaceable in tests)
        self.clock: Callable[[], float] = time.perf_counter

    # ------------------------------------------------------------------ builders
    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        """The one required override: a network for inputs of ``example_shape`` = (C, *spatial)."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_network(example_shape)")

    def adapt_network(self, network: nn.Module) -> nn.Module:
        """The built network as it trains (presets choose the memory layout here); default unchanged."""
        return network

    def build_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        """SGD, lr 1e-2, momentum 0.99, Nesterov, weight decay 3e-5 (nnU-Net's defaults)."""
        return torch.optim.SGD(network.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)

    def build_scheduler(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler | None:
        """Polynomial decay (power 0.9) over all steps, stepped after every optimiser step."""
        return build_lr_scheduler(optimizer, "poly", total_steps)

    def build_criterion(self) -> nn.Module:
        """The loss; presets override."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_criterion()")

    def build_ema(self, network: nn.Module) -> EMA | None:
        """No EMA by default; presets enable it with a flag."""
        return None

    def build_scaler(self) -> torch.amp.GradScaler | None:
        """No gradient scaler by default (AMP presets add one)."""
        return None

    def example_shape(self) -> tuple[int, ...]:
        """Shape (C, *spatial) of one training input, read from the first batch."""
        batch = next(iter(self.train_loader))
        image = batch["image"] if isinstance(batch, dict) else batch[0]
        return tuple(int(s) for s in image.shape[1:])

    def build_toolbox(self, example_shape: tuple[int, ...], total_steps: int) -> TrainerToolbox:
        """Assemble the toolbox from the builders."""
        network = self.adapt_network(self.build_network(example_shape).to(self.device))
        ema = self.build_ema(network)
        network = distributed.wrap(network, self.device)  # DDP under torchrun, else unchanged
        optimizer = self.build_optimizer(network)
        return TrainerToolbox(
            network=network,
            optimizer=optimizer,
            scheduler=self.build_scheduler(optimizer, total_steps),
            criterion=self.build_criterion().to(self.device),
            ema=ema,
            scaler=self.build_scaler(),
        )

    # ------------------------------------------------------------------ steps
    def train_step(self, batch: Any) -> float:
        """One optimisation step on ``batch``; returns the loss. Presets override."""
        raise NotImplementedError

    def validate(self) -> Any:
        """Validate on ``val_data``; returns a result whose ``score`` is higher-is-better, or None."""
        return None

    def begin_epoch(self) -> None:
        """Called at the start of every epoch, before the callbacks (presets tell the loss its progress)."""

    def epoch_metrics(self) -> dict[str, float]:
        """Extra per-epoch values for the metrics row (e.g. loss components); presets override."""
        return {}

    # ------------------------------------------------------------------ loop
    def train(
        self,
        num_epochs: int = 100,
        *,
        steps_per_epoch: int | None = None,
        val_every: int = 1,
        save_every: int = 0,
    ) -> ExperimentFolder:
        """Train from scratch for ``num_epochs`` epochs; returns the experiment folder.

        ``steps_per_epoch`` None = one pass over ``train_loader``; ``val_every`` validation period
        (callbacks may change it, e.g. to hold validation to a share of the time); ``save_every`` > 0
        keeps an extra checkpoint every that many epochs. Early stopping and time budgets are
        callbacks (:class:`~medseg.training.callbacks.EarlyStopping`,
        :class:`~medseg.training.callbacks.TimeBudget`).
        """
        if num_epochs < 1:
            raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
        seed_everything(self.seed, self.deterministic)
        self.num_epochs, self.steps_per_epoch = num_epochs, steps_per_epoch
        self.val_every, self.save_every = max(1, val_every), save_every
        self.train_kwargs = {
            "num_epochs": num_epochs,
            "steps_per_epoch": steps_per_epoch,
            "val_every": self.val_every,
            "save_every": save_every,
        }
        root = (
            ExperimentFolder.create(self.experiments_root, self.name).root if distributed.is_main() else None
        )
        self.folder = ExperimentFolder(Path(distributed.broadcast(str(root) if root else None)))
        try:
            description = self.describe()
            if description is not None and distributed.is_main():
                write_text_atomic(self.folder.root / "plan.json", json.dumps(redact(description), indent=2))
            self.input_shape = self.example_shape()
            self.toolbox = self.build_toolbox(self.input_shape, self.total_steps())
            seed_everything(self.seed, self.deterministic)
            self._run()
        except BaseException:
            if distributed.is_main() and not self.folder.checkpoint("latest").is_file():
                shutil.rmtree(self.folder.root, ignore_errors=True)
            raise
        return self.folder

    def total_steps(self) -> int:
        """Optimiser steps over the whole run (for the LR schedule)."""
        per_epoch = self.steps_per_epoch
        if per_epoch is None:
            per_epoch = len(self.train_loader)  # type: ignore[arg-type]
        return max(1, self.num_epochs * per_epoch)

    def _batches(self) -> Iterator[Any]:
        dataset = getattr(self.train_loader, "dataset", None)
        if dataset is not None and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.epoch)
        if self.steps_per_epoch is None:
            yield from self.train_loader
            return
        done = 0
        while done < self.steps_per_epoch:
            for batch in self.train_loader:
                yield batch
                done += 1
                if done >= self.steps_per_epoch:
                    return

    def set_num_epochs(self, num_epochs: int) -> None:
        """Change the run's length; the learning-rate schedule is stretched or shrunk to match.

        The schedule keeps its position: from the next step on the learning rate is the schedule's
        value at that step of the new length (so extending a finished poly run raises it from 0 again).
        """
        self.num_epochs = max(int(num_epochs), self.epoch)
        self.train_kwargs["num_epochs"] = self.num_epochs
        if self.toolbox is not None:
            set_total_steps(self.toolbox.scheduler, self.total_steps())

    def _sync_control(self) -> None:
        """Every rank takes rank 0's decisions on the run's length, validation period and stop."""
        if not distributed.is_distributed():
            return
        num_epochs, val_every, stop = distributed.broadcast(
            (self.num_epochs, self.val_every, self.stop_requested)
        )
        if num_epochs != self.num_epochs:
            self.set_num_epochs(num_epochs)
        self.val_every, self.stop_requested = val_every, stop
        self.train_kwargs["val_every"] = val_every

    def _run(self) -> None:
        # rank 0 alone validates, writes checkpoints and runs the callbacks (logs, plots, tracking,
        # budgets); the others train and take its decisions (_sync_control)
        callbacks = self.callbacks if distributed.is_main() else [cb for cb in self.callbacks if cb.all_ranks]
        try:
            self._loop(callbacks)
        except BaseException as exc:
            for cb in callbacks:
                try:
                    cb.on_exception(self, exc)
                except Exception as hook_error:  # the original error is the one to report
                    self.logger.warning("%s.on_exception failed: %s", cb.key(), hook_error)
            raise

    def _loop(self, callbacks: list[Callback]) -> None:
        main = distributed.is_main()
        for cb in callbacks:
            cb.on_train_start(self)
        while self.epoch < self.num_epochs and not self.stop_requested:
            start = self.clock()
            self.epoch_number = self.epoch + 1
            self.epoch_info = {}
            self.begin_epoch()
            for cb in callbacks:
                cb.on_epoch_start(self)
            assert self.toolbox is not None
            self.toolbox.network.train()
            losses: list[float] = []
            for batch in self._batches():
                loss = self.train_step(_to_device(batch, self.device))
                kill_point("train_step")
                termination.check()
                losses.append(loss)
                for cb in callbacks:
                    cb.on_train_batch_end(self, loss)
            row: dict[str, float] = {
                "epoch": float(self.epoch_number),
                "train_loss": float(sum(losses) / max(1, len(losses))),
                "lr": float(self.toolbox.optimizer.param_groups[0]["lr"]),
            }
            row.update(self.epoch_metrics())
            row.update(self.epoch_info)
            result = None
            row["val_time"] = 0.0
            if (
                main
                and self.val_data is not None
                and (self.epoch_number % self.val_every == 0 or self.epoch_number == self.num_epochs)
            ):
                kill_point("validation")
                val_start = self.clock()
                result = self.validate()
                row["val_time"] = self.clock() - val_start
                if result is not None:
                    row.update(result.row())
                    if result.score > self.best_score:
                        self.best_score, self.best_epoch = float(result.score), self.epoch_number
                    for cb in callbacks:
                        cb.on_validation_end(self, result)
            row["epoch_time"] = self.clock() - start
            self.history.append(row)
            self.epoch += 1
            for cb in callbacks:
                cb.on_epoch_end(self, row)
            kill_point("epoch_end")
            if main:
                self._save_checkpoints(improved=result is not None and self.best_epoch == self.epoch_number)
            self._sync_control()
        for cb in callbacks:
            cb.on_train_end(self)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self) -> dict[str, Any]:
        """The complete state of the run (network, optimiser, ..., RNGs, callbacks, counters)."""
        assert self.toolbox is not None
        return {
            "weights": self.toolbox.eval_network().state_dict(),
            "toolbox": self.toolbox.state_dict(),
            "trainer": {
                "epoch": self.epoch,
                "best_score": self.best_score,
                "best_epoch": self.best_epoch,
                "history": self.history,
                "train_kwargs": self.train_kwargs,
                "rng": rng_state(),
                "callbacks": {cb.key(): cb.state_dict() for cb in self.callbacks},
            },
        }

    def checkpoint_metadata(self) -> dict[str, str]:
        """String metadata of every checkpoint: format, trainer and the run's description (the Plan)."""
        meta = {"format": CHECKPOINT_FORMAT, "trainer": self.name}
        description = self.describe()
        if description is not None:
            meta["plan"] = json.dumps(redact(description))
        return meta

    def describe(self) -> dict[str, Any] | None:
        """The one description of the model embedded in every checkpoint (presets: the Plan)."""
        return None

    def _save_checkpoints(self, improved: bool) -> None:
        assert self.folder is not None
        state, meta = self.checkpoint_state(), self.checkpoint_metadata()
        kinds = (["best"] if improved else []) + ["latest"]
        if self.save_every and self.epoch % self.save_every == 0:
            kinds.append(f"epoch-{self.epoch:04d}")
        for i, kind in enumerate(kinds):
            if i:
                kill_point("between_checkpoints")
            path = save_state(self.folder.checkpoint(kind), state, {**meta, "kind": kind})
            for cb in self.callbacks:
                cb.on_save_checkpoint(self, kind, str(path))

    def recover_from(self, folder: str | Path, checkpoint: str = "latest") -> None:
        """Restore a run from its experiment folder; call :meth:`continue_training` next.

        Temporary files that a process killed while writing left in the folder are removed first.
        """
        self.folder = ExperimentFolder(Path(folder))
        path = self.folder.checkpoint(checkpoint)
        folders = [
            p for p in self.folder.root.rglob("*") if p.is_dir() and not p.name.startswith(TEMP_PREFIX)
        ]
        for sub in [self.folder.root, *folders]:
            remove_stale_temporaries(sub)
        state, meta = load_state(path)
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path}: unknown checkpoint format {meta.get('format')!r}")
        trainer_state = state["trainer"]
        kwargs = trainer_state["train_kwargs"]
        self.train_kwargs = kwargs
        self.num_epochs, self.steps_per_epoch = kwargs["num_epochs"], kwargs["steps_per_epoch"]
        self.val_every, self.save_every = max(1, kwargs["val_every"]), kwargs["save_every"]
        seed_everything(self.seed, self.deterministic)
        self.input_shape = self.example_shape()
        self.toolbox = self.build_toolbox(self.input_shape, self.total_steps())
        self.toolbox.load_state_dict(state["toolbox"])
        self.epoch = int(trainer_state["epoch"])
        self.best_score, self.best_epoch = (
            float(trainer_state["best_score"]),
            int(trainer_state["best_epoch"]),
        )
        self.history = list(trainer_state["history"])
        if self.history and self.history[0].get("epoch") == 0.0:  # written before epochs were counted from 1
            self.history = [{**row, "epoch": row["epoch"] + 1} for row in self.history]
            self.best_epoch += 1
        self.epoch_number = self.epoch
        for cb in self.callbacks:
            if cb.key() in trainer_state["callbacks"]:
                cb.load_state_dict(trainer_state["callbacks"][cb.key()])
        set_rng_state(trainer_state["rng"])
        self.stop_requested = False

    def continue_training(self, num_epochs: int | None = None) -> ExperimentFolder:
        """Continue a recovered run up to its planned (or a new) number of epochs.

        A new ``num_epochs`` re-fits the learning-rate schedule to the new length
        (:meth:`set_num_epochs`): extending a finished poly-decay run continues at the stretched
        schedule's learning rate, not at 0.
        """
        if self.toolbox is None or self.folder is None:
            raise RuntimeError("call recover_from(folder) before continue_training()")
        if num_epochs is not None and num_epochs != self.num_epochs:
            self.set_num_epochs(num_epochs)
        self._run()
        return self.folder
