"""MIP Candy in the peer race: its 3D example (the technical report's section 7.2), stopped at the budget.

Run (the mipcandy venv, Python >= 3.12; race.py does this):

    /work/peer_venvs/mipcandy/bin/python bench/peers/run_mipcandy.py --task hippocampus --budget 900 --out RUN

The report's volumetric example (../shared/seeds/000, "7.2 3D Volumetric Segmentation"), with what
this data and MIP Candy 1.1.3 + mipcandy-bundles 0.1.0 need changed, each change named:

* data: ``NNUNetDataset(folder, split="Tr")`` on an nnU-Net raw folder of the training cases
  (symlinks), ``.fold(fold=0)`` (its ordered 5-fold picker), ``inspect()`` of each part,
  ``RandomROIDataset(annotations, batch_size=2)`` for training and ``RandomROIDataset(inspect(val),
  batch_size=1, oversample_rate=0)`` for validation, DataLoaders with batch sizes 2 and 1;
* intensity: the example has no normalisation and these MRI crops come as uint8 and float32 files
  with different ranges, so MIP Candy's own ``Normalize(method="zscore")`` is set as the dataset's
  image transform (``JointTransform(image_only=...)``, applied to each sampled region) and to each
  whole test image at prediction;
* ``UNetTrainer`` (bundle: 3D U-Net, Pad3d(16)), ``num_dims = 3``, ``num_classes = 3``,
  ``trainer.train(200, early_stop_tolerance=20)`` with MIP Candy's defaults (SGD 1e-2 momentum
  0.99, poly schedule, Dice+CE, EMA, ``torch.compile``). ``deep_supervision`` stays off: the
  bundle's U-Net has a single output (the flag would split the batch as scales). No time budget:
  the watchdog stops it; MIP Candy writes ``checkpoint_latest.pth`` every epoch and
  ``checkpoint_best.pth`` when the validation score (negative loss) improves. ``save_preview=False``:
  the default preview of the best epoch's worst case crashes in MIP Candy's matplotlib 3D renderer
  ("ValueError: Invalid RGBA argument: np.float64(0.0)" from ``visualize3d``) and ends the run;
  previews are pictures for the user and do not change training;
* prediction: the bundle's ``UNetPredictor.build_network`` calls ``load_state_dict`` on the
  example shape (an API mismatch with mipcandy 1.1.3's ``WithNetwork``), so the predictor is a
  ``Predictor`` subclass implementing ``build_network`` (the report's one required override) and
  the U-Net's padding/restoring modules; whole-image inference, argmax. MIP Candy's ``save_image``
  drops the image geometry, so the label maps are written with the source image's geometry.

Harness addition: ``train_batch`` counts steps into a progress file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peerlib

EPOCHS = 200
EARLY_STOP = 20


def raw_folder(task: peerlib.Task, root: Path) -> Path:
    """An nnU-Net raw layout of the training cases (symlinks), what ``NNUNetDataset`` reads."""
    folder = root / "Dataset004_Hippocampus"
    for case in task.train:
        peerlib.link(case.image, folder / "imagesTr" / f"{case.case_id}_0000.nii.gz")
        peerlib.link(case.label, folder / "labelsTr" / f"{case.case_id}.nii.gz")
    return folder


def zscore() -> Any:
    """MIP Candy's z-score normalisation module."""
    from mipcandy import Normalize

    return Normalize(domain=(None, None), method="zscore")


def train(out: Path, task: peerlib.Task) -> None:
    """The report's 3D example (a child process: the watchdog ends it)."""
    import torch
    from mipcandy import JointTransform, NNUNetDataset
    from mipcandy.data.inspection import RandomROIDataset, inspect
    from mipcandy_bundles.unet import UNetTrainer
    from torch.utils.data import DataLoader

    progress = peerlib.Progress(out / "progress.json")

    class RaceUNetTrainer(UNetTrainer):  # harness: counts steps, nothing else
        def train_batch(self, images: torch.Tensor, labels: torch.Tensor, toolbox: Any) -> Any:
            result = super().train_batch(images, labels, toolbox)
            progress.update(steps=progress.data["steps"] + 1)
            return result

    device = "cpu"
    dataset = NNUNetDataset(
        folder=str(raw_folder(task, out / "raw")), split="Tr", transform=JointTransform(image_only=zscore())
    )
    train_full, val_full = dataset.fold(fold=0)
    annotations = inspect(train_full)
    train_set = RandomROIDataset(annotations, batch_size=2)
    val_set = RandomROIDataset(inspect(val_full), batch_size=1, oversample_rate=0)
    trainer = RaceUNetTrainer(
        str(out / "experiments"),
        DataLoader(train_set, batch_size=2, shuffle=True),
        DataLoader(val_set, batch_size=1),
        device=device,
    )
    trainer.num_dims = 3
    trainer.num_classes = task.num_classes
    # save_preview=False: MIP Candy's 3D preview (matplotlib backend without plotly/pyvista) fails after the
    # first best epoch ("ValueError: Invalid RGBA argument: np.float64(0.0)" in visualize3d), ending training
    trainer.train(EPOCHS, early_stop_tolerance=EARLY_STOP, save_preview=False)


def predict(out: Path, task: peerlib.Task, checkpoint: Path) -> None:
    """Whole-image prediction with a Predictor subclass; label maps in the source geometry."""
    import SimpleITK as sitk
    import torch
    from mipcandy import Pad3d, Predictor, Restore3d
    from mipcandy.data import load_image
    from mipcandy_bundles.unet import make_unet3d
    from torch import nn

    num_classes = task.num_classes

    class UNet3dPredictor(Predictor):
        def build_network(self, example_shape: Any) -> nn.Module:
            return make_unet3d(1, num_classes)

        def build_padding_module(self) -> nn.Module | None:
            return Pad3d(16)

        def build_restoring_module(self, padding_module: nn.Module | None) -> nn.Module | None:
            return Restore3d(padding_module)

    predictor = UNet3dPredictor(
        str(checkpoint.parent), (1, 16, 16, 16), checkpoint=checkpoint.name, device="cpu"
    )
    normalise = zscore()
    with torch.no_grad():
        for case in task.test:
            image = normalise(load_image(str(case.image)))
            labels = predictor.predict_image(image).argmax(0).to(torch.uint8).numpy()
            written = sitk.GetImageFromArray(labels)
            written.CopyInformation(sitk.ReadImage(str(case.image)))
            sitk.WriteImage(written, str(out / "predictions" / f"{case.case_id}.nii.gz"))


def main() -> int:
    """Train under the watchdog, then predict the test cases with the best (else latest) checkpoint."""
    p = peerlib.parser(__doc__)
    p.add_argument("--stage", choices=["race", "train"], default="race", help=peerlib.STAGE_HELP)
    args = p.parse_args()
    task = peerlib.load_task(args.task, args.data_root, args.train_cases, args.test_cases)
    if task.name != "hippocampus":
        raise SystemExit("run_mipcandy: error: only the hippocampus task is raced with MIP Candy")
    if args.stage == "train":
        train(args.out, task)
        return 0
    start = time.monotonic()
    peerlib.prepare_out(args.out)
    report = peerlib.Report(
        "mipcandy",
        peerlib.package_version("mipcandy"),
        task.name,
        args.budget,
        len(task.train),
        len(task.test),
        args.smoke,
        notes=f"report's 3D example: UNetTrainer.train({EPOCHS}, early_stop_tolerance={EARLY_STOP})"
        ", z-score, no preview",
    )

    def run(report: peerlib.Report) -> None:
        report.wall_prep_s = 0.0  # the symlinks and inspect() run inside the training process
        log = args.out / "train.log"
        cmd = peerlib.own_command(
            "run_mipcandy.py",
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
        report.steps = state.get("steps")
        runs = sorted((args.out / "experiments").glob("*/*/checkpoint_latest.pth"))
        if not runs:
            raise peerlib.PeerError(
                "no checkpoint within the budget (MIP Candy writes one after a whole epoch)"
            )
        folder = runs[-1].parent
        report.epochs = _epochs(folder / "logs.txt")
        checkpoint = folder / "checkpoint_best.pth"
        checkpoint = checkpoint if checkpoint.is_file() else folder / "checkpoint_latest.pth"
        report.checkpoint = checkpoint.name
        started = time.monotonic()
        predict(args.out, task, checkpoint)
        report.wall_predict_s = round(time.monotonic() - started, 1)

    return peerlib.main_guard(run, report, args.out)


def _epochs(log: Path) -> int:
    """Epochs MIP Candy completed (its log says 'Epoch N completed in ...')."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return 0
    return sum(
        1 for line in text.splitlines() if " completed in " in line and "training completed" not in line
    )


if __name__ == "__main__":
    sys.exit(main())
