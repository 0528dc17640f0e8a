"""A tiny deterministic training job run in subprocesses by the resume and atomic-save tests.

Usage: python resume_job.py ROOT MODE [KILL_AT_STEP]
  MODE "straight": train 4 epochs; "kill": train and SIGKILL itself at global step KILL_AT_STEP;
  "resume": recover the single run under ROOT and continue it; "saveloop": save checkpoints forever.
Prints the experiment folder on the last line.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from medseg.config import NetworkSpec, NormalizationSpec, Plan, Training
from medseg.io.state import save_state
from medseg.presets.segmentation import SegmentationTrainer
from medseg.training.callback import Callback
from medseg.training.callbacks import EarlyStopping

torch.set_num_threads(1)


def make_data() -> TensorDataset:
    g = torch.Generator().manual_seed(123)
    images = torch.randn(12, 1, 16, 16, generator=g)
    labels = (images > 0.5).long()
    return TensorDataset(images, labels)


class KillAt(Callback):
    def __init__(self, step: int) -> None:
        self.step, self.seen = step, 0

    def on_train_batch_end(self, trainer: object, loss: float) -> None:
        self.seen += 1
        if self.seen == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class TinyTrainer(SegmentationTrainer):
    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(example_shape[0], 8, 3, padding=1),
            nn.Dropout(0.2),
            nn.ReLU(),
            nn.Conv2d(8, self.plan.out_channels, 3, padding=1),
        )


def tiny_plan() -> Plan:
    """A binary 2D Plan of 16x16 patches (the network itself is TinyTrainer's)."""
    return Plan(
        spatial_dims=2,
        channel_names=["x"],
        labels={"background": 0, "bright": 1},
        target_spacing=[1.0, 1.0],
        normalization=[NormalizationSpec(scheme="none")],
        patch_size=[16, 16],
        batch_size=4,
        network=NetworkSpec(name="unet", params={"features_base": 4}),
    )


def make_trainer(root: str, extra: list[Callback]) -> TinyTrainer:
    data = make_data()
    loader = DataLoader(data, batch_size=4, shuffle=True, num_workers=1)
    training = Training(seed=7, deterministic=True, ema=True, device="cpu")
    return TinyTrainer(
        root, loader, None, plan=tiny_plan(), training=training, transparency=False, callbacks=extra
    )


def main() -> None:
    root, mode = sys.argv[1], sys.argv[2]
    if mode == "saveloop":
        big = {"w": torch.randn(2_000_000)}
        i = 0
        while True:
            big["w"][0] = float(i)
            save_state(Path(root) / "latest.safetensors", {"model": big, "step": i})
            i += 1
    if mode == "resume":
        folder = next(p for p in (Path(root) / "TinyTrainer").iterdir())
        trainer = make_trainer(root, [EarlyStopping(10)])
        trainer.recover_from(folder)
        out = trainer.continue_training()
    else:
        extra: list[Callback] = [KillAt(int(sys.argv[3]))] if mode == "kill" else []
        out = make_trainer(root, [*extra, EarlyStopping(10)]).train(4)
    print(out.root)


if __name__ == "__main__":
    main()
