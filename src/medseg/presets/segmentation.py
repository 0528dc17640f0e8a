"""SegmentationTrainer: a working preset where ``build_network`` is the only thing to supply.

Or nothing at all: name a registered network (``network="unet"``) and it is built from the
registry. Defaults follow nnU-Net: Dice + CE (Dice + BCE for one sigmoid output), SGD lr 1e-2
momentum 0.99 Nesterov weight decay 3e-5, poly decay 0.9, gradient clipping at norm 12, deep
supervision weights 2^-i normalised with the lowest resolution dropped. AdamW/Adam, cosine/constant
schedules with linear warm-up, AMP and EMA are one argument each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from medseg.core.vocab import AmpMode, OptimizerName
from medseg.losses import DeepSupervisionWrapper, DiceCELoss
from medseg.training.callbacks.base import Callback
from medseg.training.ema import EMA
from medseg.training.schedulers import ScheduleName, build_lr_scheduler
from medseg.training.trainer import Trainer
from medseg.training.validation import ScoreName, ValidationResult, validate_cases


def default_callbacks() -> list[Callback]:
    """Console, CSV, plots, previews and score prediction: the transparency set."""
    from medseg.training.callbacks.console import ConsoleCallback
    from medseg.training.callbacks.csv_logger import CSVLogger
    from medseg.training.callbacks.plots import PlotCallback
    from medseg.training.callbacks.previews import PreviewCallback
    from medseg.training.callbacks.score_forecast import ScoreForecast

    return [ScoreForecast(), CSVLogger(), PlotCallback(), PreviewCallback(), ConsoleCallback()]


class SegmentationTrainer(Trainer):
    """Patch-based segmentation training with whole-case sliding-window validation.

    ``num_classes`` is the number of output channels: 1 for a binary sigmoid task, otherwise the
    number of labels including background (softmax). ``class_names`` maps label value -> name for
    the foreground classes reported in validation (defaults to ``class_1``...).
    """

    def __init__(
        self,
        experiments_root: str | Path,
        train_loader: Iterable[Any],
        val_data: Any = None,
        *,
        num_classes: int = 2,
        class_names: dict[int, str] | None = None,
        network: str | None = None,
        network_params: dict[str, Any] | None = None,
        spacing: Sequence[float] | None = None,
        deep_supervision: bool = False,
        region_based: bool = False,
        optimizer: OptimizerName = "sgd",
        lr: float | None = None,
        weight_decay: float | None = None,
        lr_scheduler: ScheduleName = "poly",
        warmup_steps: int = 0,
        grad_clip: float | None = 12.0,
        amp: AmpMode = "off",
        ema: bool = False,
        ema_decay: float = 0.999,
        score: ScoreName = "dice",
        val_overlap: float = 0.5,
        val_patch_size: Sequence[int] | None = None,
        callbacks: list[Callback] | None = None,
        transparency: bool = True,
        **kwargs: Any,
    ) -> None:
        all_callbacks = (default_callbacks() if transparency else []) + list(callbacks or [])
        super().__init__(experiments_root, train_loader, val_data, callbacks=all_callbacks, **kwargs)
        self.num_classes = num_classes
        foreground = range(1, num_classes) if num_classes > 1 else [1]
        self.class_names = class_names or {c: f"class_{c}" for c in foreground}
        self.network_name = network
        self.network_params = dict(network_params or {})
        self.spacing = list(spacing) if spacing is not None else None
        self.deep_supervision = deep_supervision
        self.region_based = region_based
        self.optimizer_name = optimizer
        self.lr = lr if lr is not None else (1e-2 if optimizer == "sgd" else 1e-3)
        self.weight_decay = weight_decay if weight_decay is not None else (3e-5 if optimizer == "sgd" else 1e-2)
        self.lr_schedule: ScheduleName = lr_scheduler
        self.warmup_steps = warmup_steps
        self.grad_clip = grad_clip
        self.amp: AmpMode = amp
        self.use_ema = ema
        self.ema_decay = ema_decay
        self.score_name: ScoreName = score
        self.val_overlap = val_overlap
        self.val_patch_size = list(val_patch_size) if val_patch_size is not None else None
        self.patch_size: list[int] = []
        self.last_components: dict[str, float] = {}
        self._component_sums: dict[str, float] = {}
        self._component_count = 0

    # ------------------------------------------------------------------ builders
    @override
    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        if self.network_name is None:
            raise NotImplementedError(
                f"{type(self).__name__}: override build_network(example_shape) or pass network='<name>'"
            )
        from medseg.nets import create_network

        params = dict(self.network_params)
        params.setdefault("deep_supervision", self.deep_supervision)
        return create_network(self.network_name, example_shape[0], self.num_classes, list(example_shape[1:]),
                              spacing=self.spacing, **params)

    @override
    def network_spec(self) -> dict[str, Any]:
        params = {**self.network_params, "deep_supervision": self.deep_supervision}
        return {"name": self.network_name, "params": params, "num_classes": self.num_classes,
                "patch_size": self.patch_size, "spacing": self.spacing, "class_names": self.class_names}

    @override
    def build_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        params = network.parameters()
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=0.99, nesterov=True, weight_decay=self.weight_decay)
        if self.optimizer_name == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer_name == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        raise ValueError(f"unknown optimizer '{self.optimizer_name}' (valid: sgd, adamw, adam)")

    @override
    def build_scheduler(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler | None:
        return build_lr_scheduler(optimizer, self.lr_schedule, total_steps, self.warmup_steps)

    @override
    def build_criterion(self) -> nn.Module:
        loss = DiceCELoss(self.num_classes, region_based=self.region_based)
        return DeepSupervisionWrapper(loss) if self.deep_supervision else loss

    @override
    def build_ema(self, network: nn.Module) -> EMA | None:
        return EMA(network, self.ema_decay) if self.use_ema else None

    @override
    def build_scaler(self) -> torch.amp.GradScaler | None:
        if self.amp == "fp16" and self.device.type == "cuda":
            return torch.amp.GradScaler("cuda")
        return None

    @override
    def example_shape(self) -> tuple[int, ...]:
        shape = super().example_shape()
        self.patch_size = list(shape[1:])
        return shape

    # ------------------------------------------------------------------ steps
    def _autocast(self) -> Any:
        enabled = self.amp != "off" and self.device.type == "cuda"
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype, enabled=enabled)

    @override
    def train_step(self, batch: Any) -> float:
        assert self.toolbox is not None
        image, label = (batch["image"], batch["label"]) if isinstance(batch, dict) else (batch[0], batch[1])
        tb = self.toolbox
        tb.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            output = tb.network(image)
            if isinstance(output, list | tuple) and not self.deep_supervision:
                output = output[0]
            loss = tb.criterion(output, label)
        if tb.scaler is not None:
            tb.scaler.scale(loss).backward()
            tb.scaler.unscale_(tb.optimizer)
        else:
            loss.backward()
        if self.grad_clip:
            torch.nn.utils.clip_grad_norm_(tb.network.parameters(), self.grad_clip)
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
    def epoch_metrics(self) -> dict[str, float]:
        n = max(1, self._component_count)
        out = {f"train_{k}": v / n for k, v in self._component_sums.items()}
        self._component_sums, self._component_count = {}, 0
        return out

    @override
    def validate(self) -> ValidationResult | None:
        assert self.toolbox is not None
        criterion = DiceCELoss(self.num_classes, region_based=self.region_based).to(self.device)
        with self._autocast():
            return validate_cases(
                self.toolbox.eval_network(), self.val_data, self.val_patch_size or self.patch_size,
                self.class_names, criterion, self.device, score=self.score_name, overlap=self.val_overlap,
            )
