"""SegmentationTrainer: built from a Plan, with ``build_network`` the one thing a user may supply.

The Plan is the trainer's only description of the model (network, parameters, deep supervision,
output head, labels, regions, patch): the network is built from it, it is the one description
written into every checkpoint, and :class:`~medseg.inference.Predictor` reads it back alone. The
optimiser, schedule, loss, EMA, AMP and validation settings come from the config's ``training``
section (:class:`~medseg.config.Training`), one object with its defaults in one place. Defaults follow
nnU-Net: Dice + CE, SGD lr 1e-2 momentum 0.99 Nesterov weight decay 3e-5, poly decay 0.9, gradient
clipping at norm 12, deep supervision weights 2^-i normalised with the lowest resolution dropped.

A custom network (override ``build_network``) trains as usual; so that its checkpoints predict without
a twin Predictor subclass, register it (:func:`medseg.nets.register_network`) and name it in the Plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from medseg.config.plan import Plan
from medseg.config.schema import Training
from medseg.losses import DeepSupervisionWrapper, build_loss, set_loss_progress
from medseg.training.callback import Callback
from medseg.training.device import resolve_amp, resolve_device, resolve_layout
from medseg.training.ema import EMA
from medseg.training.schedulers import build_lr_scheduler
from medseg.training.targets import class_masks, loss_target
from medseg.training.trainer import Trainer
from medseg.training.validation import ValidationResult, validate_cases


def default_callbacks() -> list[Callback]:
    """Console, CSV, plots, previews and score prediction: the transparency set."""
    from medseg.training.callbacks.console import ConsoleCallback
    from medseg.training.callbacks.csv_logger import CSVLogger, ValidationCasesCSV
    from medseg.training.callbacks.plots import PlotCallback
    from medseg.training.callbacks.previews import PreviewCallback
    from medseg.training.callbacks.score_forecast import ScoreForecast

    return [
        ScoreForecast(),
        CSVLogger(),
        ValidationCasesCSV(),
        PlotCallback(),
        PreviewCallback(),
        ConsoleCallback(),
    ]


class SegmentationTrainer(Trainer):
    """Patch-based segmentation training of the Plan's network, whole-case sliding-window validation.

    Args:
        experiments_root: folder under which ``<name>/<timestamp-id>/`` is created.
        train_loader: batches ``{"image": (B, C, *patch), "label": (B, 1, *patch)}`` of training indices.
        val_data: preprocessed validation cases (or None).
        plan: the Plan (see the module docstring).
        training: the ``training`` config section (optimiser, schedule, loss, EMA, ...).
        callbacks: extra callbacks; ``transparency=False`` drops the default console/CSV/plots set.
        class_frequencies: share of training voxels per output (class, or region) for the
            class-weighted losses (the pipeline computes them from the preprocessed training cases).
    """

    def __init__(
        self,
        experiments_root: str | Path,
        train_loader: Iterable[Any],
        val_data: Any = None,
        *,
        plan: Plan,
        training: Training | None = None,
        callbacks: list[Callback] | None = None,
        transparency: bool = True,
        name: str | None = None,
        class_frequencies: Sequence[float] | None = None,
    ) -> None:
        self.training = training or Training()
        all_callbacks = (default_callbacks() if transparency else []) + list(callbacks or [])
        super().__init__(
            experiments_root,
            train_loader,
            val_data,
            device=resolve_device(self.training.device),
            callbacks=all_callbacks,
            seed=self.training.seed,
            deterministic=self.training.deterministic,
            name=name,
        )
        self.plan = plan
        self.class_names = plan.class_names
        self.class_frequencies = list(class_frequencies) if class_frequencies is not None else None
        self.last_components: dict[str, float] = {}
        self._component_sums: dict[str, float] = {}
        self._component_count = 0

    @classmethod
    def from_plan(
        cls,
        plan: Plan,
        experiments_root: str | Path,
        train_loader: Iterable[Any],
        val_data: Any = None,
        training: Training | None = None,
        **kwargs: Any,
    ) -> SegmentationTrainer:
        """The trainer of ``plan`` (one call; the same as the constructor)."""
        return cls(experiments_root, train_loader, val_data, plan=plan, training=training, **kwargs)

    # ------------------------------------------------------------------ builders
    @property
    def lr(self) -> float:
        """The peak learning rate (``training.lr``, else 1e-2 for SGD and 1e-3 for Adam/AdamW)."""
        return (
            self.training.lr
            if self.training.lr is not None
            else (1e-2 if self.training.optimizer == "sgd" else 1e-3)
        )

    @override
    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        from medseg.nets import create_network

        net = self.plan.network
        return create_network(
            net.name,
            example_shape[0],
            self.plan.out_channels,
            list(example_shape[1:]),
            spacing=self.plan.target_spacing,
            deep_supervision=net.deep_supervision,
            **net.params,
        )

    @property
    def amp(self) -> str:
        """The autocast mode steps run in (``training.amp`` resolved for the device)."""
        return resolve_amp(self.training.amp, self.device)

    @property
    def layout(self) -> str:
        """The memory layout the network trains in (``training.layout`` resolved for the device)."""
        return resolve_layout(self.training.layout, self.device, self.plan.spatial_dims)

    @override
    def adapt_network(self, network: nn.Module) -> nn.Module:
        if self.training.pretrained_weights:
            network = self._load_pretrained(network)
        if self.layout == "channels_last":
            from medseg.inference.fast_layout import channels_last_copy

            return channels_last_copy(network, self.plan.spatial_dims)
        return network

    def _load_pretrained(self, network: nn.Module) -> nn.Module:
        import json

        from medseg.training.transfer import load_pretrained, read_weights

        assert self.training.pretrained_weights is not None
        report = load_pretrained(
            network, read_weights(self.training.pretrained_weights), self.training.pretrained_channels
        )
        self.logger.info(report.summary())
        if self.epoch == 0 and any(type(cb).__name__ == "ConsoleCallback" for cb in self.callbacks):
            from rich.console import Console

            Console().print(f"{report.summary()} from {self.training.pretrained_weights}")
        self.transfer_report = report
        if self.folder is not None and self.epoch == 0:
            from medseg.core.atomic import write_text_atomic

            write_text_atomic(
                self.folder.root / "transfer.json",
                json.dumps({"source": self.training.pretrained_weights, **report.to_dict()}, indent=2),
            )
        return network

    @override
    def describe(self) -> dict[str, Any]:
        return self.plan.model_dump(mode="json")

    @override
    def build_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        t = self.training
        params = network.parameters()
        if t.optimizer == "sgd":
            decay = t.weight_decay if t.weight_decay is not None else 3e-5
            return torch.optim.SGD(params, lr=self.lr, momentum=0.99, nesterov=True, weight_decay=decay)
        decay = t.weight_decay if t.weight_decay is not None else 1e-2
        if t.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, weight_decay=decay)
        return torch.optim.Adam(params, lr=self.lr, weight_decay=decay)

    @override
    def build_scheduler(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler | None:
        per_epoch = self.steps_per_epoch or 1
        return build_lr_scheduler(
            optimizer, self.training.lr_scheduler, total_steps, self.training.warmup_epochs * per_epoch
        )

    def region_loss(self) -> nn.Module:
        """The configured loss on one output (deep supervision wraps it): ``training.loss`` by name."""
        t = self.training
        return build_loss(
            t.loss,
            out_channels=self.plan.out_channels,
            activation=self.plan.network.activation,
            spacing=self.plan.target_spacing,
            class_frequencies=self.class_frequencies,
            params=t.loss_params,
            composite_weighting=t.composite_weighting,
        )

    @override
    def build_criterion(self) -> nn.Module:
        loss = self.region_loss()
        return DeepSupervisionWrapper(loss) if self.plan.network.deep_supervision else loss

    @override
    def build_ema(self, network: nn.Module) -> EMA | None:
        return EMA(network, self.training.ema_decay) if self.training.ema else None

    @override
    def build_scaler(self) -> torch.amp.GradScaler | None:
        if self.amp == "fp16" and self.device.type == "cuda":
            return torch.amp.GradScaler("cuda")
        return None

    # ------------------------------------------------------------------ steps
    def _autocast(self, validation: bool = False) -> Any:
        amp = self.amp
        if validation and self.device.type == "cpu":
            # validation on the CPU runs the fp32 channels-last copy (validation_network): bf16 with
            # channels-last convolutions measured 2.1x slower than fp32 there (bench_training_step.py)
            return contextlib.nullcontext()
        if amp == "off" or (self.device.type == "cpu" and amp != "bf16"):
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    @override
    def train_step(self, batch: Any) -> float:
        assert self.toolbox is not None
        image, label = (batch["image"], batch["label"]) if isinstance(batch, dict) else (batch[0], batch[1])
        target = loss_target(label, self.plan)
        if self.layout == "channels_last":
            image = image.contiguous(
                memory_format=torch.channels_last_3d if image.ndim == 5 else torch.channels_last
            )
        tb = self.toolbox
        tb.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            output = tb.network(image)
            if isinstance(output, list | tuple) and not self.plan.network.deep_supervision:
                output = output[0]
            loss = tb.criterion(output, target)
        if tb.scaler is not None:
            tb.scaler.scale(loss).backward()
            tb.scaler.unscale_(tb.optimizer)
        else:
            loss.backward()
        if self.epoch < self.training.freeze_encoder_epochs:  # frozen: no update, no decay, no momentum
            from medseg.training.transfer import encoder_parameters

            for p in encoder_parameters(tb.network):
                p.grad = None
        if self.training.grad_clip:
            torch.nn.utils.clip_grad_norm_(tb.network.parameters(), self.training.grad_clip)
        if tb.scaler is not None:
            tb.scaler.step(tb.optimizer)
            tb.scaler.update()
        else:
            tb.optimizer.step()
        if tb.scheduler is not None:
            tb.scheduler.step()
        if tb.ema is not None:
            tb.ema.update(tb.network)
        for key, value in getattr(tb.criterion, "last_components", {}).items():
            self._component_sums[key] = self._component_sums.get(key, 0.0) + value
        self._component_count += 1
        return float(loss.detach())

    @override
    def begin_epoch(self) -> None:
        if self.toolbox is not None:
            set_loss_progress(self.toolbox.criterion, self.epoch, self.num_epochs)

    @override
    def epoch_metrics(self) -> dict[str, float]:
        n = max(1, self._component_count)
        out = {f"train_{k}": v / n for k, v in self._component_sums.items()}
        self._component_sums, self._component_count = {}, 0
        return out

    def validation_network(self) -> nn.Module:
        """The network validation runs: the evaluated weights, in the fast channels-last layout on the CPU."""
        assert self.toolbox is not None
        network = self.toolbox.eval_network()
        if self.device.type == "cpu" and self.plan.spatial_dims in (2, 3):
            from medseg.inference.fast_layout import channels_last_copy

            return channels_last_copy(network, self.plan.spatial_dims).eval()
        return network

    @override
    def validate(self) -> ValidationResult | None:
        criterion = self.region_loss().to(self.device)
        set_loss_progress(criterion, self.epoch, self.num_epochs)
        plan = self.plan

        def loss_fn(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
            return criterion(logits, loss_target(label, plan))

        with self._autocast(validation=True):
            return validate_cases(
                self.validation_network(),
                self.val_data,
                plan.patch_size,
                self.class_names,
                loss_fn,
                self.device,
                masks=lambda logits, label: class_masks(logits, label, plan),
                score=self.training.score,
            )
