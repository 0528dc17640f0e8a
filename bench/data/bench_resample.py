"""Resampling speed: medseg's scipy.ndimage path versus SimpleITK's Resample, one thread each.

Run: .venv/bin/python bench/data/bench_resample.py [--repeats 3]

The preprocessing resamples each case inside one worker process, so both libraries run with one
thread (SimpleITK's global default number of threads set to 1). Same grid convention for both: the
outer voxel edges stay fixed (SimpleITK's output origin is shifted by half the spacing change).
Cubic = scipy spline order 3 vs ``sitkBSpline``; linear = order 1 vs ``sitkLinear``. The table gives
the best of ``--repeats`` runs, the ratio SimpleITK time / scipy time (> 1: scipy faster) and the
largest difference between the two results away from the border (the libraries pad differently).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import SimpleITK as sitk

from medseg.data.preprocessing.resample import resample_array, shape_for_spacing

CASES = {
    "hippocampus-like 36x50x35, 1 -> 0.7 mm": ((36, 50, 35), (1.0, 1.0, 1.0), (0.7, 0.7, 0.7)),
    "CT-like 96x256x256, (2.5, 0.8, 0.8) -> 1.5 mm": ((96, 256, 256), (2.5, 0.8, 0.8), (1.5, 1.5, 1.5)),
}


def best_time(function: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        out = function()
        best = min(best, time.perf_counter() - start)
    return best, out


def sitk_resample(
    volume: np.ndarray, spacing: tuple[float, ...], target: tuple[float, ...], order: int
) -> np.ndarray:
    """SimpleITK resampling of a (z, y, x) array to ``target`` spacing (array order), edges aligned."""
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing(tuple(reversed(spacing)))
    shape = shape_for_spacing(volume.shape, spacing, target)
    out_spacing = [s * n / m for s, n, m in zip(spacing, volume.shape, shape, strict=True)]
    origin = [(o - s) / 2 for o, s in zip(out_spacing, spacing, strict=True)]
    interpolator = sitk.sitkBSpline if order == 3 else sitk.sitkLinear
    resampled = sitk.Resample(
        image,
        list(reversed(shape)),
        sitk.Transform(),
        interpolator,
        tuple(reversed(origin)),
        tuple(reversed(out_spacing)),
        image.GetDirection(),
        0.0,
        sitk.sitkFloat32,
    )
    return sitk.GetArrayFromImage(resampled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    rng = np.random.default_rng(0)
    print("| volume | order | scipy (medseg) s | SimpleITK s | SimpleITK/scipy | max interior difference |")
    print("|---|---|---|---|---|---|")
    for name, (shape, spacing, target) in CASES.items():
        from scipy import ndimage

        volume = ndimage.gaussian_filter(rng.normal(size=shape), 2).astype(np.float32)
        volume /= volume.std()
        new_shape = shape_for_spacing(shape, spacing, target)
        for order in (3, 1):
            ours_s, ours = best_time(partial(resample_array, volume[None], new_shape, order), args.repeats)
            itk_s, itk = best_time(partial(sitk_resample, volume, spacing, target, order), args.repeats)
            ours = ours[0]
            inner = tuple(slice(4, -4) for _ in new_shape)
            diff = float(np.abs(ours[inner] - itk[inner]).max())
            print(f"| {name} | {order} | {ours_s:.3f} | {itk_s:.3f} | {itk_s / ours_s:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
