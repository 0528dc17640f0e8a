"""Train your own network with medseg's pieces, one plain object at a time.

Runs on the hippocampus sample embedded in the package (no download):

    python examples/custom_network.py --steps 200 --out /tmp/medseg_custom

Each stage below is usable alone: the dataset is a ``torch.utils.data.Dataset``, the plan a
pydantic model you can edit, the sampler and loader plain PyTorch objects, the trainer a class
whose one required override is ``build_network``, and the predictor reads the checkpoint alone.

The network is also *registered* under a name (``register_network``) and that name is put in the
Plan: the checkpoint then describes its network completely, so the plain ``Predictor`` (or
``medseg predict``) rebuilds it — no twin predictor class is needed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from torch import nn
from typing_extensions import override

from medseg.config import Training
from medseg.data import (
    PreprocessedDataset,
    RandomROIDataset,
    build_augmentation,
    inspect,
    load_sample,
    make_loader,
    plan,
    preprocess,
)
from medseg.evaluation import Evaluator
from medseg.inference import Predictor
from medseg.nets import register_network
from medseg.presets import SegmentationTrainer


class TinyNet(nn.Module):
    """Any nn.Module works: here three 3D conv layers mapping C channels to K logits."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(in_channels, width, 3, padding=1), nn.InstanceNorm3d(width), nn.LeakyReLU(0.01),
            nn.Conv3d(width, width, 3, padding=2, dilation=2), nn.InstanceNorm3d(width), nn.LeakyReLU(0.01),
            nn.Conv3d(width, num_classes, 1),
        )

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.body(x)


@register_network("tiny-dilated", divisor=1, spatial_dims=(3,))
def build_tiny(in_channels: int, out_channels: int, patch_size: Sequence[int], spacing: Sequence[float] | None = None,
               features_base: int = 16) -> nn.Module:
    """The registry entry: how to build the network from the Plan (``features_base`` is its width)."""
    return TinyNet(in_channels, out_channels, features_base)


class TinyTrainer(SegmentationTrainer):
    """The one required override: how to build the network for inputs of ``example_shape``."""

    @override
    def build_network(self, example_shape: tuple[int, ...]) -> nn.Module:
        return TinyNet(example_shape[0], self.plan.out_channels, self.plan.network.params["features_base"])


def main() -> None:
    """Inspect, plan, preprocess, train, predict and evaluate fold 0 of the embedded sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("medseg_custom"))
    parser.add_argument("--steps", type=int, default=200, help="optimiser steps in total")
    args = parser.parse_args()

    dataset = load_sample()                                    # 40 MRI cases, labels 0/1/2
    train_set, val_set = dataset.fold(0, n_folds=5, seed=0)    # deterministic 32/8 split
    fingerprint = inspect(dataset, workers=2, cache_dir=args.out / "fingerprint")
    the_plan = plan(fingerprint, overrides={"network.name": "tiny-dilated", "patch_size": [32, 32, 32],
                                            "batch_size": 2, "network.params.features_base": 16})
    cache = preprocess(dataset, the_plan, args.out / "preprocessed", workers=2)

    steps_per_epoch = min(50, args.steps)
    train_cache = PreprocessedDataset(cache.root, train_set.case_ids)
    sampler = RandomROIDataset(train_cache, the_plan.patch_size, steps_per_epoch * the_plan.batch_size, seed=0)
    augmentation = build_augmentation(the_plan.augmentation or None, len(the_plan.patch_size))
    loader = make_loader(sampler, the_plan.batch_size, workers=1, augmentation=augmentation)

    trainer = TinyTrainer.from_plan(
        the_plan, args.out / "experiments", loader, PreprocessedDataset(cache.root, val_set.case_ids),
        training=Training(optimizer="adamw", lr=3e-3), name="TinyTrainer_fold0",
    )
    folder = trainer.train(max(1, args.steps // steps_per_epoch), steps_per_epoch=steps_per_epoch)

    predictor = Predictor(folder.root, checkpoint="latest", mirror_axes=())  # the Plan says "tiny-dilated"
    predictions = {cid: image.array[0] for cid, image in predictor.predict(val_set, args.out / "predictions")}
    regions = {name: value for name, value in the_plan.labels.items() if value != 0}
    result = Evaluator("dice", regions=regions, progress=False).evaluate_dataset(val_set, predictions)
    result.to_csv(args.out / "metrics.csv")
    print(result.summary())


if __name__ == "__main__":
    main()
