"""Reading images: medseg.io versus MONAI's LoadImage, plus the safetensors cache (fast_load).

Run: .venv/bin/python bench/io/bench_io.py [--repeats 3] [--cases 60]

Three workloads from ../shared/data: ``--cases`` Task04 Hippocampus images (.nii.gz), the
TotalSegmentator CT (example_ct.nii.gz) and its 20-slice DICOM series. For each, the best of
``--repeats`` wall times (each method also sums the voxels, so that lazily mapped data is read) of: medseg ``read_image`` (SimpleITK + truncation check), plain
``SimpleITK.ReadImage`` (the floor medseg adds its checks to), MONAI ``LoadImage`` (nibabel for NIfTI,
pydicom for DICOM) and medseg ``fast_load`` of the same arrays cached with ``fast_save``. Before timing,
the script asserts that every method returns the same voxels. Prints a markdown table with the ratio
to MONAI (>1 means faster than MONAI).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from medseg.io import fast_load, fast_save, read_image

DATA = Path(
    os.environ.get("MEDSEG_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")
)


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Best wall time of ``repeats`` runs of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def monai_loader(reader: str) -> Callable[[str], np.ndarray]:
    """MONAI's LoadImage with the given reader, returning a channels-first NumPy array."""
    from monai.transforms import LoadImage

    load = LoadImage(reader=reader, image_only=True, ensure_channel_first=True)
    return lambda path: np.asarray(load(path))


def workloads(cases: int) -> dict[str, tuple[list[Path], str]]:
    """Name -> (paths, MONAI reader)."""
    hippo = sorted((DATA / "Task04_Hippocampus" / "imagesTr").glob("hippocampus_*.nii.gz"))[:cases]
    ts = DATA / "TotalSegmentator_examples"
    return {
        f"hippocampus x{len(hippo)} (.nii.gz)": (hippo, "NibabelReader"),
        "TotalSegmentator CT (.nii.gz)": ([ts / "example_ct.nii.gz"], "NibabelReader"),
        "TotalSegmentator CT (DICOM, 20x512x512)": ([ts / "example_ct_dicom"], "PydicomReader"),
    }


def check_same(paths: list[Path], cache: list[Path], reader: str) -> None:
    """All methods agree voxel for voxel.

    MONAI's arrays are x-first with a RAS affine; they are flipped where an axis runs against the
    ITK image's axis, then transposed to (z, y, x) (MONAI's pydicom reader stacks this series top down).
    """
    from monai.transforms import LoadImage

    load = LoadImage(reader=reader, image_only=True, ensure_channel_first=True)
    for path, cached in zip(paths, cache):
        image = read_image(path)
        ours = image.array
        theirs = load(str(path))
        lps_columns = np.diag([-1.0, -1.0, 1.0]) @ np.asarray(theirs.affine)[:3, :3]
        agreement = np.sum(lps_columns * image.geometry.direction_matrix, axis=0)
        array = np.asarray(theirs)[0]
        for axis in np.flatnonzero(agreement < 0):
            array = np.flip(array, axis)
        np.testing.assert_array_equal(ours[0], array.transpose(2, 1, 0))
        np.testing.assert_array_equal(fast_load(cached, as_numpy=True).tensors["image"], ours)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| workload | method | seconds | vs MONAI |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (paths, reader) in workloads(args.cases).items():
            cache = [
                fast_save(Path(tmp) / f"{name[:5]}{i}.safetensors", read_image(p))
                for i, p in enumerate(paths)
            ]
            monai = monai_loader(reader)
            check_same(paths, cache, reader)

            def plain_sitk(paths: list[Path] = paths) -> None:
                for p in paths:
                    if p.is_dir():
                        reader_ = sitk.ImageSeriesReader()
                        reader_.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(p)))
                        sitk.GetArrayFromImage(reader_.Execute()).sum()
                    else:
                        sitk.GetArrayFromImage(sitk.ReadImage(str(p))).sum()

            methods: dict[str, Callable[[], object]] = {
                "MONAI LoadImage": lambda paths=paths, monai=monai: [monai(str(p)).sum() for p in paths],
                "medseg read_image": lambda paths=paths: [read_image(p).array.sum() for p in paths],
                "SimpleITK ReadImage (no checks)": plain_sitk,
                "medseg fast_load (safetensors cache)": lambda cache=cache: [
                    fast_load(c).tensors["image"].sum() for c in cache
                ],
            }
            times = {method: best_of(args.repeats, fn) for method, fn in methods.items()}
            for method, seconds in times.items():
                ratio = times["MONAI LoadImage"] / seconds
                print(f"| {name} | {method} | {seconds:.3f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
