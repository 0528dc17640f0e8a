"""The trainer's toolbox: everything that holds training state, in one flat dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from medseg.training.distributed import unwrap
from medseg.training.ema import EMA


@dataclass
class TrainerToolbox:
    """Network, optimiser, scheduler, criterion, optional EMA and gradient scaler."""

    network: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    criterion: nn.Module
    ema: EMA | None = None
    scaler: torch.amp.GradScaler | None = None

    def eval_network(self) -> nn.Module:
        """The network to validate, save and predict with: the EMA weights when EMA is on.

        Always the plain network (a DDP wrapper is taken off), so checkpoints load without it.
        """
        return self.ema.module if self.ema is not None else unwrap(self.network)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (weights included)."""
        return {
            "network": unwrap(self.network).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "criterion": self.criterion.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        unwrap(self.network).load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.criterion.load_state_dict(state["criterion"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
