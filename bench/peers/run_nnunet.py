"""nnU-Net v2 in the peer race: its own commands, planner and defaults, on the CPU, stopped at the budget.

Run (the nnunet venv; race.py does this):

    /work/peer_venvs/nnunet/bin/python bench/peers/run_nnunet.py --task hippocampus --budget 3600 --out RUN

What a user does, as nnU-Net's documentation tells it (all inside the budget):

1. data into nnU-Net's raw layout. Hippocampus: an MSD task folder holding only the split's cases
   (symlinks: the 166 training cases in imagesTr/labelsTr, the test images in imagesTs) converted
   with ``nnUNetv2_convert_MSD_dataset``, as documented for MSD data. DRIVE: nnU-Net's 2D natural
   image layout (its RoadSegmentation example): RGB ``CASE_0000.png``, labels 0/1 ``CASE.png``;
2. ``nnUNetv2_plan_and_preprocess -d ID -c 3d_fullres -np 2 -npfp 2 --verify_dataset_integrity``
   (``-c 2d`` for DRIVE; only the configuration that is trained is preprocessed, and the process
   counts match this 2-core machine, as the documentation advises);
3. ``nnUNetv2_train ID 3d_fullres 0 -device cpu`` (its default 1000 epochs of 250 iterations,
   fold 0 of its own 5-fold split of the training cases): nnU-Net has no time budget, so the
   watchdog terminates it at the deadline. nnU-Net writes ``checkpoint_best.pth`` whenever its EMA
   pseudo Dice improves at the end of an epoch (``checkpoint_latest.pth`` every 50 epochs);
4. ``nnUNetv2_predict -i imagesTs -o RUN/predictions -d ID -c CONFIG -f 0 -chk checkpoint_best.pth
   -device cpu`` (its default mirroring TTA), or ``checkpoint_latest.pth`` when there is no best.

Steps done = completed epochs x 250 (nnU-Net logs epochs, not iterations). Data-augmentation worker
processes: nnU-Net's own default (``min(12, cpu_count)`` = 2 here). ``--smoke`` patches the trainer
to 5 training + 2 validation iterations per epoch (through nnU-Net's ``run_training_entry``, the
function behind ``nnUNetv2_train``) so that a short check reaches its first checkpoint; never for results.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib

DATASET = {"hippocampus": (4, "Hippocampus", "3d_fullres"), "drive": (801, "DRIVE", "2d")}
ITERATIONS_PER_EPOCH = 250
SMOKE_ITERATIONS = (5, 2)


def nnunet_env(base: Path) -> dict[str, str]:
    """The three folders nnU-Net reads from its environment, inside the run folder."""
    env = dict(os.environ)
    for name, sub in (
        ("nnUNet_raw", "raw"),
        ("nnUNet_preprocessed", "preprocessed"),
        ("nnUNet_results", "results"),
    ):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(base / sub)
    return env


def hippocampus_msd(task: peerlib.Task, folder: Path) -> Path:
    """An MSD task folder of the split's cases (symlinks), for ``nnUNetv2_convert_MSD_dataset``."""
    msd = folder / "Task04_Hippocampus"
    source = json.loads((task.data / "dataset.json").read_text(encoding="utf-8"))
    for case in task.train:
        peerlib.link(case.image, msd / "imagesTr" / case.image.name)
        peerlib.link(case.label, msd / "labelsTr" / case.label.name)
    for case in task.test:
        peerlib.link(case.image, msd / "imagesTs" / case.image.name)
    source.update(
        numTraining=len(task.train),
        numTest=len(task.test),
        training=[
            {"image": f"./imagesTr/{c.image.name}", "label": f"./labelsTr/{c.label.name}"} for c in task.train
        ],
        test=[f"./imagesTs/{c.image.name}" for c in task.test],
    )
    (msd / "dataset.json").write_text(json.dumps(source, indent=1), encoding="utf-8")
    return msd


def drive_raw(task: peerlib.Task, raw: Path) -> None:
    """DRIVE in nnU-Net's natural-image layout (RGB PNG inputs, 0/1 PNG labels)."""
    import numpy as np
    from PIL import Image

    root = raw / "Dataset801_DRIVE"
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for case in task.train + task.test:
        sub = "imagesTr" if case in task.train else "imagesTs"
        Image.open(case.image).convert("RGB").save(root / sub / f"{case.case_id}_0000.png")
    for case in task.train:
        label = (np.asarray(Image.open(case.label).convert("L")) > 127).astype(np.uint8)
        Image.fromarray(label).save(root / "labelsTr" / f"{case.case_id}.png")
    dataset = {
        "channel_names": {"0": "R", "1": "G", "2": "B"},
        "labels": {"background": 0, "vessel": 1},
        "numTraining": len(task.train),
        "file_ending": ".png",
        "name": "DRIVE",
    }
    (root / "dataset.json").write_text(json.dumps(dataset, indent=1), encoding="utf-8")


def completed_epochs(results: Path) -> tuple[int, int | None]:
    """``(completed epochs, epoch of the best checkpoint)`` from nnU-Net's training log."""
    logs = sorted(results.rglob("training_log_*.txt"))
    if not logs:
        return 0, None
    epoch, done, best = -1, 0, None
    for line in logs[-1].read_text(encoding="utf-8", errors="replace").splitlines():
        if m := re.search(r"\bEpoch (\d+)\s*$", line):
            epoch = int(m.group(1))
        elif "Epoch time:" in line:
            done = epoch + 1
        elif "New best EMA pseudo Dice" in line:
            best = epoch
    return done, best


def smoke_train(argv: list[str]) -> None:
    """``nnUNetv2_train ARGV`` with 5 + 2 iterations per epoch (``--smoke`` only)."""
    from nnunetv2.run.run_training import run_training_entry
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    original = nnUNetTrainer.on_train_start

    def short_epochs(self: Any) -> None:  # after __init__, which records its own signature's arguments
        self.num_iterations_per_epoch, self.num_val_iterations_per_epoch = SMOKE_ITERATIONS
        original(self)

    nnUNetTrainer.on_train_start = short_epochs
    sys.argv = ["nnUNetv2_train", *argv]
    run_training_entry()


def main() -> int:
    """Convert, plan + preprocess, train under the watchdog, predict the test cases."""
    if len(sys.argv) > 1 and sys.argv[1] == "--smoke-train":
        smoke_train(sys.argv[2:])
        return 0
    args = peerlib.parser(__doc__).parse_args()
    task = peerlib.load_task(args.task, args.data_root, args.train_cases, args.test_cases)
    start = time.monotonic()
    deadline = start + args.budget
    peerlib.prepare_out(args.out)
    dataset_id, name, configuration = DATASET[task.name]
    report = peerlib.Report(
        "nnunet",
        peerlib.package_version("nnunetv2"),
        task.name,
        args.budget,
        len(task.train),
        len(task.test),
        args.smoke,
        notes=f"{configuration}, fold 0, -device cpu, default TTA"
        + (f"; smoke: {SMOKE_ITERATIONS[0]} iterations per epoch" if args.smoke else ""),
    )
    base = args.out / "nnunet"
    env = nnunet_env(base)
    log = args.out / "nnunet.log"
    bin_dir = Path(sys.executable).parent

    def run(report: peerlib.Report) -> None:
        if task.name == "hippocampus":
            msd = hippocampus_msd(task, args.out / "msd")
            peerlib.run_checked(
                [bin_dir / "nnUNetv2_convert_MSD_dataset", "-i", msd, "-np", "2"],
                log,
                env,
                deadline,
                "nnUNetv2_convert_MSD_dataset",
            )
        else:
            drive_raw(task, base / "raw")
        peerlib.run_checked(
            [
                bin_dir / "nnUNetv2_plan_and_preprocess",
                "-d",
                dataset_id,
                "-c",
                configuration,
                "-np",
                "2",
                "-npfp",
                "2",
                "--verify_dataset_integrity",
            ],
            log,
            env,
            deadline,
            "nnUNetv2_plan_and_preprocess",
        )
        report.wall_prep_s = round(time.monotonic() - start, 1)
        train_args = [dataset_id, configuration, "0", "-device", "cpu"]
        cmd: list[Any] = (
            [sys.executable, __file__, "--smoke-train", *train_args]
            if args.smoke
            else [bin_dir / "nnUNetv2_train", *train_args]
        )
        outcome = peerlib.run_until(cmd, deadline, log, env)
        report.wall_train_s, report.stopped_by = round(outcome.seconds, 1), outcome.stopped_by
        if outcome.stopped_by == "finished" and outcome.returncode != 0:
            raise peerlib.PeerError(f"nnUNetv2_train failed: {peerlib.last_line(log)} (log: {log})")
        epochs, best_epoch = completed_epochs(base / "results")
        per_epoch = SMOKE_ITERATIONS[0] if args.smoke else ITERATIONS_PER_EPOCH
        report.epochs, report.steps = epochs, epochs * per_epoch
        folds = list((base / "results").glob(f"Dataset{dataset_id:03d}_{name}/*__{configuration}/fold_0"))
        checkpoint = next(
            (
                c
                for c in ("checkpoint_final.pth", "checkpoint_best.pth", "checkpoint_latest.pth")
                if folds and (folds[0] / c).is_file()
            ),
            None,
        )
        if checkpoint is None:
            raise peerlib.PeerError(
                "no checkpoint within the budget (nnU-Net writes its first one after a whole "
                f"epoch; {epochs} completed)"
            )
        report.checkpoint = checkpoint + (
            f" (epoch {best_epoch})" if checkpoint == "checkpoint_best.pth" else ""
        )
        started = time.monotonic()
        images_ts = base / "raw" / f"Dataset{dataset_id:03d}_{name}" / "imagesTs"
        peerlib.run_checked(
            [
                bin_dir / "nnUNetv2_predict",
                "-i",
                images_ts,
                "-o",
                args.out / "predictions",
                "-d",
                dataset_id,
                "-c",
                configuration,
                "-f",
                "0",
                "-chk",
                checkpoint,
                "-device",
                "cpu",
            ],
            log,
            env,
            what="nnUNetv2_predict",
        )
        report.wall_predict_s = round(time.monotonic() - started, 1)
        for extra in (args.out / "predictions").glob("*.json"):  # plans.json, dataset.json, predict_from_raw…
            extra.rename(args.out / extra.name)

    return peerlib.main_guard(run, report, args.out)


if __name__ == "__main__":
    sys.exit(main())
