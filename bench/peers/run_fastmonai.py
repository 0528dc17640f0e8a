"""fastMONAI in the peer race: its patch-based segmentation tutorial, stopped at the budget.

Run (the fastmonai venv; race.py does this):

    /work/peer_venvs/fastmonai/bin/python bench/peers/run_fastmonai.py --task hippocampus --budget 900 --out RUN

The tutorial "Patch-Based Binary Segmentation" (../shared/seeds/004), step by step, with only what
three classes and this data need changed:

* dataset analysis: ``MedDataset(img_list=labels, dtype=MedMask)``, ``get_suggestion()`` for the
  target spacing, ``suggest_patch_size`` for the patch size, with ``min_patch_size=[16, 16, 16]``:
  its default [32, 32, 32] fails on these crops ("smallest volume is 28 but min_patch_size=32.
  Exclude small volumes or reduce min_patch_size."), and this follows the library's advice;
* ``PatchConfig``: the suggested patch size, 8 samples per volume, the 'label' sampler with
  background 0.2 and the two foreground classes 0.4 each (the tutorial's binary {0: 0.2, 1: 0.8}
  shared between two classes), patch overlap 0.5, hann aggregation; ``keep_largest_component``
  off (fastMONAI applies it to binary output only and warns otherwise);
* transforms: ``ZNormalization`` before patching; the tutorial's patch augmentations (RandomAffine,
  RandomGamma, RandomBiasField, RandomBlur, RandomNoise, RandomFlip);
* ``MedPatchDataLoaders.from_df(valid_pct=0.1, bs=4, seed=42)``;
* MONAI UNet (16..256, strides 2x4, 2 residual units, instance norm), 3 outputs,
  ``CustomLoss(DiceCELoss(to_onehot_y, softmax, include_background))``, metric
  ``AccumulatedDice(n_classes=3)``, ``SaveModelCallback(monitor='accumulated_dice')``,
  ``learn.fit_one_cycle(100, 1e-3)`` (the tutorial runs ``lr_find`` and then uses 1e-3 anyway: the
  search is skipped; its MLflow callback is left out). No time budget: the watchdog stops it;
* inference: the best model, ``patch_inference(..., save_dir=...)`` back in the original space.

Harness additions: a fastai callback that writes the steps done to a progress file, the patch
configuration kept as JSON (the tutorial pickles it) for the prediction step.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib

EPOCHS = 100
LR = 1e-3
BEST = "best_model"
MIN_PATCH = [16, 16, 16]


def network(num_classes: int) -> Any:
    """The tutorial's MONAI UNet."""
    from monai.networks.layers import Norm
    from monai.networks.nets import UNet

    return UNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=num_classes,
        channels=(16, 32, 64, 128, 256),
        strides=(2, 2, 2, 2),
        num_res_units=2,
        norm=Norm.INSTANCE,
    )


def patch_config(config: dict[str, Any]) -> Any:
    """The tutorial's PatchConfig from the analysed values."""
    from fastMONAI.vision_all import PatchConfig

    return PatchConfig(
        patch_size=config["patch_size"],
        samples_per_volume=8,
        sampler_type="label",
        label_probabilities=config["label_probabilities"],
        patch_overlap=0.5,
        keep_largest_component=False,
        target_spacing=config["target_spacing"],
        aggregation_mode="hann",
    )


def train(out: Path, task: peerlib.Task) -> None:
    """The tutorial's analysis and training (a child process: the watchdog ends it)."""
    import numpy as np
    import pandas as pd
    from fastai.callback.core import Callback
    from fastMONAI.vision_all import (
        AccumulatedDice,
        CustomLoss,
        Learner,
        MedDataset,
        MedMask,
        MedPatchDataLoaders,
        RandomAffine,
        RandomBiasField,
        RandomBlur,
        RandomFlip,
        RandomGamma,
        RandomNoise,
        SaveModelCallback,
        ZNormalization,
        suggest_patch_size,
    )
    from monai.losses import DiceCELoss

    train_df = pd.DataFrame(
        {"image": [str(c.image) for c in task.train], "label": [str(c.label) for c in task.train]}
    )
    med_dataset = MedDataset(img_list=train_df.label.tolist(), dtype=MedMask, max_workers=2)
    target_spacing = med_dataset.get_suggestion()["target_spacing"]
    # the default min_patch_size [32, 32, 32] is refused here ("smallest volume is 28 ... reduce
    # min_patch_size"): the library's own advice is followed
    suggested = suggest_patch_size(med_dataset, target_spacing=target_spacing, min_patch_size=MIN_PATCH)
    share = 0.8 / (task.num_classes - 1)
    config = {
        "patch_size": [int(s) for s in suggested],
        "target_spacing": [float(s) for s in target_spacing],
        "label_probabilities": {0: 0.2, **{v: share for v in range(1, task.num_classes)}},
    }
    peerlib.write_json_atomic(out / "patch_config.json", config)
    print(f"patch config: {config}", flush=True)
    pconfig = patch_config(config)
    patch_tfms = [
        RandomAffine(scales=(0.95, 1.3), degrees=15, translation=5, p=0.5),
        RandomGamma(log_gamma=(-0.3, 0.3), p=0.5),
        RandomBiasField(coefficients=0.5, p=0.3),
        RandomBlur(std=(0.0, 0.8), p=0.2),
        RandomNoise(std=0.1, p=0.2),
        RandomFlip(p=0.5),
    ]
    dls = MedPatchDataLoaders.from_df(
        df=train_df,
        img_col="image",
        mask_col="label",
        valid_pct=0.1,
        patch_config=pconfig,
        pre_patch_tfms=[ZNormalization()],
        patch_tfms=patch_tfms,
        bs=4,
        seed=42,
    )
    loss_func = CustomLoss(loss_func=DiceCELoss(to_onehot_y=True, softmax=True, include_background=True))
    learn = Learner(
        dls,
        network(task.num_classes),
        loss_func=loss_func,
        metrics=[AccumulatedDice(n_classes=task.num_classes)],
        path=out,
    )
    progress = peerlib.Progress(out / "progress.json")

    class RaceProgress(Callback):  # harness: steps done, for the watchdog's report
        def after_batch(self) -> None:
            if self.training:
                progress.update(steps=progress.data["steps"] + 1)

        def after_epoch(self) -> None:
            progress.update(force=True, epochs=self.epoch + 1)

    save_best = SaveModelCallback(monitor="accumulated_dice", comp=np.greater, fname=BEST, with_opt=False)
    learn.fit_one_cycle(EPOCHS, LR, cbs=[save_best, RaceProgress()])


def predict(out: Path, task: peerlib.Task) -> None:
    """The tutorial's inference: the best model, patch_inference into RUN/predictions."""
    import torch
    from fastMONAI.vision_all import ZNormalization, patch_inference

    config = peerlib.read_json(out / "patch_config.json")
    config["label_probabilities"] = {int(k): v for k, v in config["label_probabilities"].items()}
    model = network(task.num_classes)
    model.load_state_dict(torch.load(out / "models" / f"{BEST}.pth", map_location="cpu", weights_only=True))
    predictions = out / "predictions"
    patch_inference(
        learner=model,
        config=patch_config(config),
        file_paths=[str(c.image) for c in task.test],
        pre_inference_tfms=[ZNormalization()],
        save_dir=str(predictions),
        progress=False,
    )
    for path in predictions.glob("*_pred.nii.gz"):  # fastMONAI names them CASE_pred.nii.gz
        path.rename(path.with_name(path.name.replace("_pred.nii.gz", ".nii.gz")))


def best_epoch(log: Path) -> int | None:
    """The epoch of the best model (fastai prints 'Better model found at epoch N')."""
    found = re.findall(
        r"Better model found at epoch (\d+)", log.read_text(encoding="utf-8", errors="replace")
    )
    return int(found[-1]) if found else None


def main() -> int:
    """Train under the watchdog, then predict the test cases with the best model."""
    p = peerlib.parser(__doc__)
    p.add_argument("--stage", choices=["race", "train"], default="race", help=peerlib.STAGE_HELP)
    args = p.parse_args()
    task = peerlib.load_task(args.task, args.data_root, args.train_cases, args.test_cases)
    if task.name != "hippocampus":
        raise SystemExit("run_fastmonai: error: only the hippocampus task is raced with fastMONAI")
    if args.stage == "train":
        train(args.out, task)
        return 0
    start = time.monotonic()
    peerlib.prepare_out(args.out)
    report = peerlib.Report(
        "fastmonai",
        peerlib.package_version("fastmonai"),
        task.name,
        args.budget,
        len(task.train),
        len(task.test),
        args.smoke,
        notes=f"tutorial: patch UNet, DiceCE, fit_one_cycle({EPOCHS}, {LR})",
    )

    def run(report: peerlib.Report) -> None:
        report.wall_prep_s = 0.0  # analysis and loading happen inside the training process
        log = args.out / "train.log"
        cmd = peerlib.own_command(
            "run_fastmonai.py",
            "--stage",
            "train",
            "--task",
            task.name,
            "--budget",
            args.budget,
            "--out",
            args.out,
            *peerlib.case_flags(args),
        )
        outcome = peerlib.run_until(cmd, start + args.budget, log)
        report.wall_train_s, report.stopped_by = round(time.monotonic() - start, 1), outcome.stopped_by
        if outcome.stopped_by == "finished" and outcome.returncode != 0:
            raise peerlib.PeerError(f"training failed: {peerlib.last_line(log)} (log: {log})")
        state = peerlib.read_json(args.out / "progress.json")
        report.steps, report.epochs = state.get("steps"), state.get("epochs")
        if not (args.out / "models" / f"{BEST}.pth").is_file():
            raise peerlib.PeerError("no model saved within the budget (fastai saves after a whole epoch)")
        report.checkpoint = f"models/{BEST}.pth (epoch {best_epoch(log)})"
        started = time.monotonic()
        predict(args.out, task)
        report.wall_predict_s = round(time.monotonic() - started, 1)

    return peerlib.main_guard(run, report, args.out)


if __name__ == "__main__":
    sys.exit(main())
