"""Batched augmentation throughput: medseg's pipeline versus MONAI's dictionary transforms and TorchIO.

Run: .venv/bin/python bench/data/bench_augmentation.py [--device cpu|cuda] [--threads 1] [--batches 8]

Two patch batches, image ``(B, 1, *patch)`` float and label ``(B, 1, *patch)`` int: nnU-Net's
full-resolution size ``(2, 1, 128, 128, 128)`` and a hippocampus-size ``(8, 1, 40, 56, 40)``. Two
probability settings: ``nnunet`` (nnU-Net v2's defaults, most samples skip most transforms) and
``always`` (every transform on every sample; mirroring stays 0.5 per axis). The peers get the closest
equivalent of each transform, applied sample by sample because their dictionary transforms take one
sample at a time (MONAI with ``set_track_meta(False)``, its fastest mode). TorchIO has no
multiplicative brightness or contrast transform and runs on the CPU only; its row has fewer
transforms. Prints a markdown table of batches/s with the ratio ours / peer.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import torch

from medseg.data.augmentation import AugmentationConfig, build_augmentation

Step = Callable[[torch.Tensor, torch.Tensor, int], object]
SHAPES = {"nnU-Net 3d_fullres": (2, 128, 128, 128), "hippocampus": (8, 40, 56, 40)}


def probabilities(setting: str) -> dict[str, float]:
    """Per-transform probabilities of a setting (the affine one is P(rotation or scaling))."""
    if setting == "always":
        return dict(
            affine=1.0,
            noise=1.0,
            blur=1.0,
            bright=1.0,
            contrast=1.0,
            lowres=1.0,
            ginv=1.0,
            gamma=1.0,
            channel=1.0,
        )
    return dict(
        affine=1 - 0.8 * 0.8,
        noise=0.1,
        blur=0.2,
        bright=0.15,
        contrast=0.15,
        lowres=0.25,
        ginv=0.1,
        gamma=0.3,
        channel=0.5,
    )


def medseg_step(setting: str, device: torch.device) -> Step:
    """medseg's pipeline built from the config, one generator for the run."""
    p = probabilities(setting)
    if setting == "always":
        config = AugmentationConfig.from_mapping(
            {
                "spatial": {"p_rotation": 1.0, "p_scaling": 1.0},
                **{k: {"p": 1.0} for k in ("noise", "brightness", "contrast", "gamma_inverted", "gamma")},
                "blur": {"p": 1.0, "p_per_channel": p["channel"]},
                "low_resolution": {"p": 1.0, "p_per_channel": p["channel"]},
            }
        )
    else:
        config = AugmentationConfig()
    pipeline = build_augmentation(config, 3)
    generator = torch.Generator(device=device).manual_seed(0)  # draws (and noise) on the data's device

    def step(image: torch.Tensor, label: torch.Tensor, _: int) -> object:
        return pipeline.apply({"image": image, "label": label}, generator)

    return step


def monai_step(setting: str, device: torch.device) -> Step:
    """MONAI's closest dictionary transforms, sample by sample."""
    from monai import transforms as mt
    from monai.data import set_track_meta

    set_track_meta(False)
    p = probabilities(setting)
    keys = ["image", "label"]
    pipeline = mt.Compose(
        [
            mt.RandAffined(
                keys,
                prob=p["affine"],
                rotate_range=(math.pi / 6,) * 3,
                scale_range=((-0.3, 0.4),) * 3,
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
                device=device,
            ),
            mt.RandGaussianNoised("image", prob=p["noise"], std=0.1),
            mt.RandGaussianSmoothd(
                "image",
                sigma_x=(0.5, 1.0),
                sigma_y=(0.5, 1.0),
                sigma_z=(0.5, 1.0),
                prob=p["blur"] * p["channel"],
            ),
            mt.RandScaleIntensityd("image", factors=0.25, prob=p["bright"]),
            mt.RandScaleIntensityFixedMeand("image", factors=0.25, preserve_range=True, prob=p["contrast"]),
            mt.RandSimulateLowResolutiond("image", prob=p["lowres"] * p["channel"], zoom_range=(0.5, 1.0)),
            mt.RandAdjustContrastd(
                "image", gamma=(0.7, 1.5), prob=p["ginv"], invert_image=True, retain_stats=True
            ),
            mt.RandAdjustContrastd("image", gamma=(0.7, 1.5), prob=p["gamma"], retain_stats=True),
            *[mt.RandFlipd(keys, prob=0.5, spatial_axis=axis) for axis in range(3)],
        ]
    ).set_random_state(0)

    def step(image: torch.Tensor, label: torch.Tensor, _: int) -> object:
        return [pipeline({"image": image[i], "label": label[i]}) for i in range(image.shape[0])]

    return step


def torchio_step(setting: str, threads: int) -> Step:
    """TorchIO's closest transforms (no brightness/contrast), sample by sample, CPU only."""
    import SimpleITK as sitk
    import torchio as tio

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)  # its resampler, like torch's threads
    p = probabilities(setting)
    pipeline = tio.Compose(
        [
            tio.RandomAffine(scales=(0.7, 1.4), degrees=30, p=p["affine"], image_interpolation="linear"),
            tio.RandomNoise(std=(0.0, 0.1), p=p["noise"]),
            tio.RandomBlur(std=(0.5, 1.0), p=p["blur"] * p["channel"]),
            tio.RandomAnisotropy(downsampling=(1.0, 2.0), p=p["lowres"] * p["channel"]),
            tio.RandomGamma(log_gamma=(math.log(0.7), math.log(1.5)), p=p["gamma"]),
            tio.RandomFlip(axes=(0, 1, 2), flip_probability=0.5),
        ]
    )
    torch.manual_seed(0)

    def step(image: torch.Tensor, label: torch.Tensor, _: int) -> object:
        return [
            pipeline(tio.Subject(image=tio.ScalarImage(tensor=image[i]), label=tio.LabelMap(tensor=label[i])))
            for i in range(image.shape[0])
        ]

    return step


def batches_per_second(step: Step, image: torch.Tensor, label: torch.Tensor, batches: int) -> float:
    """Throughput over ``batches`` calls after one warm-up call."""
    sync = torch.cuda.synchronize if image.is_cuda else (lambda: None)
    step(image, label, -1)
    sync()
    start = time.perf_counter()
    for i in range(batches):
        step(image, label, i)
    sync()
    return batches / (time.perf_counter() - start)


def main() -> None:
    """Time every library on both shapes and settings; print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--no-torchio", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, device {device}, threads {args.threads}, {args.batches} batches per cell"
    )
    print("| patch batch | probabilities | library | batches/s | ours / peer |")
    print("|---|---|---|---|---|")
    for shape_name, (b, *patch) in SHAPES.items():
        image = torch.randn(b, 1, *patch, device=device)
        label = torch.randint(0, 3, (b, 1, *patch), device=device)
        for setting in ("nnunet", "always"):
            # rare draws make the nnunet setting noisy: five times more batches there
            batches = (
                args.batches * (4 if shape_name == "hippocampus" else 1) * (5 if setting == "nnunet" else 1)
            )
            steps: dict[str, Step] = {
                "medseg": medseg_step(setting, device),
                "MONAI": monai_step(setting, device),
            }
            if not args.no_torchio and device.type == "cpu":
                steps["TorchIO"] = torchio_step(setting, args.threads)
            rates = {name: batches_per_second(step, image, label, batches) for name, step in steps.items()}
            for name, rate in rates.items():
                ratio = "1.00" if name == "medseg" else f"{rates['medseg'] / rate:.2f}"
                print(
                    f"| ({b}, 1, {', '.join(map(str, patch))}) | {setting} | {name} | {rate:.2f} | {ratio} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
