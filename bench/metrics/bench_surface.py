"""Surface metrics: medseg's HD95 and NSD versus MONAI's, side by side on the same mask pairs.

Run: .venv/bin/python bench/metrics/bench_surface.py [--cases 50] [--repeats 3] [--threads 2]
     [--method auto|grid|edt|kdtree]

Workloads:
* hippocampus: Task04 label (anterior + posterior) against a perturbed copy of itself (one dilation
  and a shift of 1-2 voxels along a rotating axis), 1 mm isotropic, for ``--cases`` cases;
* synthetic 256^3, far: two offset spheres (radius 80 and 76 voxels, centres 6 voxels apart),
  anisotropic spacing (1.5, 0.8, 0.8) mm: surfaces 0-15 mm apart, the hard case for HD95;
* synthetic 256^3, near: the same sphere against one 1 voxel smaller and 1 voxel off along two axes
  (a good segmentation: surfaces 0-3 voxels apart).

Peers: ``monai.metrics.compute_hausdorff_distance(percentile=95)`` and
``compute_surface_dice(use_subvoxels=True)`` (DeepMind semantics), NSD tolerance 1 mm. Both sides get
the same ``--threads`` (``torch.set_num_threads`` for MONAI; ``edt`` and k-d tree query threads for
medseg). Prints a markdown table of ms per case (best of ``--repeats`` interleaved runs over the workload), the
ratio MONAI / medseg and the largest absolute difference of the values.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
from monai.metrics import compute_hausdorff_distance, compute_surface_dice
from scipy import ndimage

import medseg.metrics.surface_distance as surface_distance
import medseg.metrics.surface_engine as surface_engine
from medseg.metrics import hd95, normalized_surface_dice

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "Task04_Hippocampus" / "labelsTr"
Pair = tuple[np.ndarray, np.ndarray, tuple[float, ...]]


def hippocampus_pairs(n: int) -> list[Pair]:
    """Label vs dilated-and-shifted label of the first ``n`` cases."""
    pairs = []
    for i, path in enumerate(sorted(DATA.glob("*.nii.gz"))[:n]):
        img = sitk.ReadImage(str(path))
        ref = sitk.GetArrayFromImage(img) > 0
        pred = np.roll(ndimage.binary_dilation(ref), 1 + i % 2, axis=i % 3)
        pairs.append((pred, ref, tuple(float(s) for s in reversed(img.GetSpacing()))))
    return pairs


def spheres() -> list[Pair]:
    """Two offset spheres in a 256^3 volume, anisotropic spacing."""
    z, y, x = np.ogrid[:256, :256, :256]
    pred = (z - 128) ** 2 + (y - 128) ** 2 + (x - 128) ** 2 < 80**2
    ref = (z - 134) ** 2 + (y - 130) ** 2 + (x - 125) ** 2 < 76**2
    return [(pred, ref, (1.5, 0.8, 0.8))]


def near_spheres() -> list[Pair]:
    """A 256^3 sphere against a slightly smaller, slightly shifted one."""
    z, y, x = np.ogrid[:256, :256, :256]
    pred = (z - 128) ** 2 + (y - 128) ** 2 + (x - 128) ** 2 < 80**2
    ref = (z - 129) ** 2 + (y - 128) ** 2 + (x - 127) ** 2 < 79**2
    return [(pred, ref, (1.5, 0.8, 0.8))]


def monai_hd95(p: np.ndarray, r: np.ndarray, s: tuple[float, ...]) -> float:
    """MONAI's HD95 of one mask pair."""
    return compute_hausdorff_distance(
        torch.from_numpy(p)[None, None], torch.from_numpy(r)[None, None], spacing=s, percentile=95
    ).item()


def monai_nsd(p: np.ndarray, r: np.ndarray, s: tuple[float, ...]) -> float:
    """MONAI's NSD (DeepMind semantics) of one mask pair at 1 mm."""
    return compute_surface_dice(
        torch.from_numpy(p)[None, None],
        torch.from_numpy(r)[None, None],
        [1.0],
        include_background=True,
        spacing=s,
        use_subvoxels=True,
    ).item()


def run(
    fns: list[Callable[[np.ndarray, np.ndarray, tuple[float, ...]], float]], pairs: list[Pair], repeats: int
) -> list[tuple[float, list[float]]]:
    """Best time per case (s) over ``repeats`` passes and the values, for each function.

    The functions take turns within every pass, so that load on a shared machine hits all alike.
    """
    best = [float("inf")] * len(fns)
    values: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            values[i] = [fn(p, r, s) for p, r, s in pairs]
            best[i] = min(best[i], (time.perf_counter() - start) / len(pairs))
    return list(zip(best, values, strict=True))


def main() -> None:
    """Time both implementations on both workloads and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--method",
        choices=["auto", "grid", "edt", "kdtree"],
        default="auto",
        help="medseg's nearest-surface engine (auto = grid scan, k-d tree for far points)",
    )
    args = parser.parse_args()
    if args.method != "auto":
        surface_distance.DEFAULT_METHOD = args.method
    torch.set_num_threads(args.threads)
    surface_engine.THREADS = args.threads
    warnings.filterwarnings("ignore")
    ours_fns = {"HD95": hd95, "NSD@1mm": lambda p, r, s: normalized_surface_dice(p, r, 1.0, s)}
    peer_fns = {"HD95": monai_hd95, "NSD@1mm": monai_nsd}
    workloads = {
        f"hippocampus x{args.cases}": hippocampus_pairs(args.cases),
        "spheres 256^3 far": spheres(),
        "spheres 256^3 near": near_spheres(),
    }
    print(f"threads: {args.threads}, repeats: {args.repeats}, medseg engine: {args.method}")
    print("| workload | metric | medseg ms/case | MONAI ms/case | speed-up | max abs diff |")
    print("|---|---|---|---|---|---|")
    for name, pairs in workloads.items():
        for metric in ours_fns:
            (t_ours, v_ours), (t_peer, v_peer) = run(
                [ours_fns[metric], peer_fns[metric]], pairs, args.repeats
            )
            diff = float(np.max(np.abs(np.array(v_ours) - np.array(v_peer))))
            print(
                f"| {name} | {metric} | {t_ours * 1e3:.2f} | {t_peer * 1e3:.2f} | "
                f"{t_peer / t_ours:.1f}x | {diff:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
