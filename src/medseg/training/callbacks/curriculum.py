"""The 3-stage curriculum with online hard-example mining (seed 003), as a callback with state.

Stage 1 draws only foreground patches, stage 2 forces rare classes (inverse class frequency), stage 3
mines hard examples: a pool of candidate patches is scored with the current network (eval mode, no
augmentation) by the training loss, and the hardest share becomes the epoch's patches (re-mined every
``ohem_refresh`` epochs). Stage boundaries are shares of the run's epochs, so a run refitted to its
time budget keeps its proportions. The mined draws are part of the callback's state (checkpointed),
so a run resumed inside stage 3 trains on exactly the same patches. It runs on every rank under DDP
(``all_ranks``): each rank mines its own pool from its own sampler.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from typing_extensions import override

from medseg.data.sampling.stages import DEFAULT_STAGE, PatchDraw, SamplingStage
from medseg.training.callback import Callback

if TYPE_CHECKING:
    from medseg.training.trainer import Trainer

STAGES = {1: "foreground", 2: "rare_class", 3: "ohem"}


class Curriculum(Callback):
    """Set the sampler's stage at the start of every epoch (see the module docstring)."""

    all_ranks = True

    def __init__(
        self,
        foreground: float = 0.3,
        rare_class: float = 0.3,
        ohem_pool: int = 4,
        ohem_keep: float = 0.25,
        ohem_refresh: int = 5,
    ) -> None:
        if foreground < 0 or rare_class < 0 or foreground + rare_class > 1 + 1e-9:
            raise ValueError(f"curriculum shares {foreground} + {rare_class} must be >= 0 and sum to <= 1")
        self.foreground, self.rare_class = float(foreground), float(rare_class)
        self.ohem_pool, self.ohem_keep, self.ohem_refresh = (
            int(ohem_pool),
            float(ohem_keep),
            int(ohem_refresh),
        )
        self.mined_epoch: int | None = None
        self.draws: list[PatchDraw] = []

    def stage_of(self, epoch: int, num_epochs: int) -> int:
        """1, 2 or 3 for ``epoch`` (0-based) of a run of ``num_epochs``."""
        progress = epoch / max(1, num_epochs)
        if progress < self.foreground:
            return 1
        return 2 if progress < self.foreground + self.rare_class else 3

    @override
    def on_epoch_start(self, trainer: Trainer) -> None:
        sampler = getattr(trainer.train_loader, "dataset", None)
        if sampler is None or not hasattr(sampler, "set_stage"):
            return
        stage = self.stage_of(trainer.epoch, trainer.num_epochs)
        trainer.epoch_info["curriculum_stage"] = float(stage)
        if stage == 1:
            sampler.set_stage(SamplingStage("foreground", foreground_oversampling=1.0))
        elif stage == 2:
            sampler.set_stage(
                SamplingStage("rare_class", foreground_oversampling=0.5, rare_class_oversampling=True)
            )
        else:
            due = self.mined_epoch is None or trainer.epoch - self.mined_epoch >= self.ohem_refresh
            if due:
                self.draws = self.mine(trainer, sampler)
                self.mined_epoch = trainer.epoch
            sampler.set_stage(SamplingStage("ohem", draws=tuple(self.draws)))

    @torch.no_grad()
    def mine(self, trainer: Trainer, sampler: Any) -> list[PatchDraw]:
        """The hardest ``ohem_keep`` share of a pool of candidate patches, by the training loss."""
        from medseg.training.targets import loss_target

        assert trainer.toolbox is not None
        network = trainer.toolbox.network
        was_training = network.training
        network.eval()
        criterion = getattr(trainer, "region_loss", None)
        loss_fn = criterion() if callable(criterion) else trainer.toolbox.criterion
        pool = [sampler.draw((trainer.epoch, i, DEFAULT_STAGE)) for i in range(self.ohem_pool * len(sampler))]
        plan = getattr(trainer, "plan", None)
        scores: list[float] = []
        for draw in pool:
            patch = sampler.patch(draw)
            image = patch["image"][None].to(trainer.device)
            label = patch["label"][None].to(trainer.device).long()
            output = network(image)
            logits = output[0] if isinstance(output, list | tuple) else output
            target = loss_target(label, plan) if plan is not None else label
            scores.append(float(loss_fn(logits, target)))
        network.train(was_training)
        keep = max(1, math.ceil(self.ohem_keep * len(pool)))
        order = sorted(range(len(pool)), key=lambda i: (-scores[i], i))[:keep]
        trainer.logger.info(
            "curriculum: %d hard patches of %d mined at epoch %d", keep, len(pool), trainer.epoch
        )
        return [pool[i] for i in sorted(order)]

    @override
    def state_dict(self) -> dict[str, Any]:
        return {
            "mined_epoch": self.mined_epoch,
            "draws": [[d.case_index, list(d.start), d.forced_class] for d in self.draws],
        }

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mined_epoch = state.get("mined_epoch")
        self.draws = [
            PatchDraw(int(c), tuple(int(v) for v in s), None if f is None else int(f))
            for c, s, f in state.get("draws", [])
        ]
