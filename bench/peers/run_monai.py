"""MONAI in the peer race: the plain, hand-written MONAI U-Net baseline, as MONAI's tutorials write it.

Run (the monai venv; race.py does this):

    /work/peer_venvs/monai/bin/python bench/peers/run_monai.py --task hippocampus --budget 900 --out RUN

The loop is MONAI's 3D segmentation tutorial (tutorials: 3d_segmentation/spleen_segmentation_3d)
with only what the hippocampus data needs changed, each change named here:

* transforms: LoadImaged, EnsureChannelFirstd, Orientationd("RAS"), Spacingd(1 mm: the data's own
  spacing), then NormalizeIntensityd(nonzero, channel-wise) as MONAI's MRI tutorials do instead of
  the spleen CT window (ScaleIntensityRanged); CropForegroundd is dropped (these images are crops
  already); SpatialPadd to the patch size (some crops are smaller than it); RandCropByPosNegLabeld
  (pos 1, neg 1, 4 samples) with a 32^3 patch instead of 96^3 (the images are about 35x50x36);
* network, loss, optimiser as the tutorial: UNet(channels 16..256, strides 2x4, 2 residual units,
  batch norm), DiceLoss(to_onehot_y, softmax), Adam lr 1e-4, batch size 2, CacheDataset, validation
  every 2 epochs with sliding_window_inference + DiceMetric(include_background=False), the best
  model saved (as the tutorial: best_metric_model.pth), 600 epochs (the watchdog stops it first);
  3 output channels (background, anterior, posterior);
* validation cases: the last 20 % of the training cases (the tutorial keeps the last 9 of 41);
* inference as the tutorial's "inference on test images": the same deterministic transforms,
  sliding_window_inference with a 64^3 window (one window covers a whole image), Invertd back to
  the original space, argmax, SaveImaged.

Harness additions, outside MONAI's loop: a progress file (steps done; the watchdog ends the process),
the checkpoints written atomically plus a ``latest_model.pth`` each epoch (so that a run stopped
before its first validation still has a model), and torch/data-loader threads left at their defaults.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib

PATCH = (32, 32, 32)
WINDOW = (64, 64, 64)
MAX_EPOCHS = 600
VAL_INTERVAL = 2
VAL_SHARE = 0.2


def transforms(train: bool) -> Any:
    """The tutorial's transform chain, adapted to the hippocampus MRI crops (see the module docstring)."""
    from monai.transforms import (
        Compose,
        EnsureChannelFirstd,
        LoadImaged,
        NormalizeIntensityd,
        Orientationd,
        RandCropByPosNegLabeld,
        Spacingd,
        SpatialPadd,
    )

    keys = ["image", "label"] if train else ["image"]
    mode = ("bilinear", "nearest") if train else "bilinear"
    chain = [
        LoadImaged(keys=keys),
        EnsureChannelFirstd(keys=keys),
        Orientationd(keys=keys, axcodes="RAS"),
        Spacingd(keys=keys, pixdim=(1.0, 1.0, 1.0), mode=mode),
        NormalizeIntensityd(keys="image", nonzero=True, channel_wise=True),
    ]
    if train:
        chain += [
            SpatialPadd(keys=keys, spatial_size=PATCH),
            RandCropByPosNegLabeld(
                keys=keys,
                label_key="label",
                spatial_size=PATCH,
                pos=1,
                neg=1,
                num_samples=4,
                image_key="image",
                image_threshold=0,
            ),
        ]
    return Compose(chain)


def network(num_classes: int) -> Any:
    """The tutorial's UNet."""
    from monai.networks.layers import Norm
    from monai.networks.nets import UNet

    return UNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=num_classes,
        channels=(16, 32, 64, 128, 256),
        strides=(2, 2, 2, 2),
        num_res_units=2,
        norm=Norm.BATCH,
    )


def save_atomic(state: Any, path: Path) -> None:
    """torch.save through a temporary file (a watchdog stop never leaves half a checkpoint)."""
    import torch

    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(out: Path, task: peerlib.Task) -> None:
    """The tutorial's training loop (runs as a child process; the watchdog ends it)."""
    import torch
    from monai.data import CacheDataset, DataLoader, decollate_batch
    from monai.inferers import sliding_window_inference
    from monai.losses import DiceLoss
    from monai.metrics import DiceMetric
    from monai.transforms import AsDiscrete, Compose

    files = [{"image": str(c.image), "label": str(c.label)} for c in task.train]
    n_val = max(1, round(VAL_SHARE * len(files)))
    train_files, val_files = files[:-n_val], files[-n_val:]
    workers = min(4, os.cpu_count() or 1)
    device = torch.device("cpu")
    train_ds = CacheDataset(data=train_files, transform=transforms(True), cache_rate=1.0, num_workers=workers)
    train_loader = DataLoader(train_ds, batch_size=2, shuffle=True, num_workers=workers)
    val_ds = CacheDataset(data=val_files, transform=_val_transforms(), cache_rate=1.0, num_workers=workers)
    val_loader = DataLoader(val_ds, batch_size=1, num_workers=workers)
    model = network(task.num_classes).to(device)
    loss_function = DiceLoss(to_onehot_y=True, softmax=True)
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    dice_metric = DiceMetric(include_background=False, reduction="mean")
    post_pred = Compose([AsDiscrete(argmax=True, to_onehot=task.num_classes)])
    post_label = Compose([AsDiscrete(to_onehot=task.num_classes)])
    progress = peerlib.Progress(out / "progress.json")
    best_metric, steps = -1.0, 0
    for epoch in range(MAX_EPOCHS):
        model.train()
        epoch_loss = 0.0
        for batch_data in train_loader:
            inputs, labels = batch_data["image"].to(device), batch_data["label"].to(device)
            optimizer.zero_grad()
            loss = loss_function(model(inputs), labels)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
            steps += 1
            progress.update(steps=steps)
        print(f"epoch {epoch + 1} average loss: {epoch_loss / max(1, len(train_loader)):.4f}", flush=True)
        save_atomic(model.state_dict(), out / "latest_model.pth")
        progress.update(force=True, steps=steps, epochs=epoch + 1, latest_steps=steps)
        if (epoch + 1) % VAL_INTERVAL == 0:
            model.eval()
            with torch.no_grad():
                for val_data in val_loader:
                    val_inputs, val_labels = val_data["image"].to(device), val_data["label"].to(device)
                    val_outputs = sliding_window_inference(val_inputs, WINDOW, 4, model)
                    dice_metric(
                        y_pred=[post_pred(i) for i in decollate_batch(val_outputs)],
                        y=[post_label(i) for i in decollate_batch(val_labels)],
                    )
                metric = float(torch.as_tensor(dice_metric.aggregate()).item())
                dice_metric.reset()
            if metric > best_metric:
                best_metric = metric
                save_atomic(model.state_dict(), out / "best_metric_model.pth")
                progress.update(force=True, best_metric=best_metric, best_epoch=epoch + 1, best_steps=steps)
            print(
                f"current epoch: {epoch + 1} current mean dice: {metric:.4f} best mean dice: {best_metric:.4f}",
                flush=True,
            )


def _val_transforms() -> Any:
    """Validation: the deterministic part of the training chain (labels loaded too, no crop)."""
    from monai.transforms import Compose

    return Compose(transforms(True).transforms[:5])


def predict(out: Path, task: peerlib.Task, checkpoint: Path) -> None:
    """The tutorial's test-time inference: sliding window, Invertd to the original space, SaveImaged."""
    import torch
    from monai.data import DataLoader, Dataset, decollate_batch
    from monai.inferers import sliding_window_inference
    from monai.transforms import AsDiscreted, Compose, Invertd, SaveImaged

    test_transforms = transforms(False)
    loader = DataLoader(
        Dataset(data=[{"image": str(c.image)} for c in task.test], transform=test_transforms),
        batch_size=1,
        num_workers=0,
    )
    post = Compose(
        [
            Invertd(
                keys="pred",
                transform=test_transforms,
                orig_keys="image",
                nearest_interp=False,
                to_tensor=True,
            ),
            AsDiscreted(keys="pred", argmax=True),
            SaveImaged(
                keys="pred",
                output_dir=str(out / "predictions"),
                output_postfix="",
                separate_folder=False,
                resample=False,
                print_log=False,
            ),
        ]
    )
    model = network(task.num_classes)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval()
    with torch.no_grad():
        for data in loader:
            data["pred"] = sliding_window_inference(data["image"], WINDOW, 4, model)
            for item in decollate_batch(data):
                post(item)


def main() -> int:
    """Train under the watchdog, then predict the test cases with the best (else latest) checkpoint."""
    p = peerlib.parser(__doc__)
    p.add_argument("--stage", choices=["race", "train"], default="race", help=peerlib.STAGE_HELP)
    args = p.parse_args()
    task = peerlib.load_task(args.task, args.data_root, args.train_cases, args.test_cases)
    if task.name != "hippocampus":
        raise SystemExit("run_monai: error: only the hippocampus task is raced with MONAI")
    if args.stage == "train":
        train(args.out, task)
        return 0
    start = time.monotonic()
    peerlib.prepare_out(args.out)
    report = peerlib.Report(
        "monai",
        peerlib.package_version("monai"),
        task.name,
        args.budget,
        len(task.train),
        len(task.test),
        args.smoke,
        notes="tutorial loop: UNet, DiceLoss, Adam 1e-4, 32^3 crops",
    )

    def run(report: peerlib.Report) -> None:
        report.wall_prep_s = round(
            time.monotonic() - start, 1
        )  # nothing to convert: MONAI reads the NIfTI files
        cmd = peerlib.own_command(
            "run_monai.py",
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
        outcome = peerlib.run_until(cmd, start + args.budget, args.out / "train.log")
        report.wall_train_s, report.stopped_by = round(outcome.seconds, 1), outcome.stopped_by
        if outcome.stopped_by == "finished" and outcome.returncode != 0:
            raise peerlib.PeerError(f"training failed: {peerlib.last_line(args.out / 'train.log')}")
        state = peerlib.read_json(args.out / "progress.json")
        report.steps, report.epochs = state.get("steps"), state.get("epochs")
        best, latest = args.out / "best_metric_model.pth", args.out / "latest_model.pth"
        checkpoint = best if best.exists() else latest
        if not checkpoint.exists():
            raise peerlib.PeerError("no checkpoint was written within the budget (not one epoch finished)")
        report.checkpoint = (
            f"best_metric_model.pth (epoch {state.get('best_epoch')})"
            if checkpoint == best
            else f"latest_model.pth (epoch {state.get('epochs')})"
        )
        started = time.monotonic()
        predict(args.out, task, checkpoint)
        report.wall_predict_s = round(time.monotonic() - started, 1)

    return peerlib.main_guard(run, report, args.out)


if __name__ == "__main__":
    sys.exit(main())
