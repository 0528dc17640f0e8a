"""Loader memory: peak RSS while iterating batches from 20 versus 208 hippocampus cases.

Run: .venv/bin/python bench/data/bench_loader.py [--batches 40] [--workers 2] [--cache /tmp/medseg_bench_hippo]

Preprocesses Task04_Hippocampus once (1 mm, crop to nonzero, z-score inside the nonzero mask; the
cache is reused by later runs), then, for each loader and case count, starts a fresh subprocess
that iterates ``--batches`` batches of 8 patches of 40x56x40 (nnU-Net's hippocampus patch) with
``--workers`` workers. It reports the main process's own maxrss (``getrusage``) and the peak, over
the run, of the summed PSS and RSS of the main process and its workers (polled from /proc every
50 ms; PSS splits pages shared between processes fairly, RSS counts them in every process). Loaders:

* medseg: ``make_loader(RandomROIDataset(...))`` - patches read from memory maps (kept open, their
  pages released after every read), batches passed through fixed shared-memory slots.
* MONAI Dataset: ``LoadImaged`` (the same .npy files) + ``SpatialPadd`` + ``RandCropByPosNegLabeld``
  (pos 1, neg 2).
* MONAI CacheDataset: the same, with the loaded arrays cached (cache_rate 1), MONAI's fast path.

Prints a markdown table; the ratios are 208 cases / 20 cases (1.00 = constant memory).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

PATCH = [40, 56, 40]
BATCH = 8
HIPPO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "Task04_Hippocampus"


def build_cache(cache: Path) -> None:
    """Preprocess all hippocampus cases into ``cache`` (skips finished cases)."""
    from medseg.config.plan import NormalizationSpec, Plan
    from medseg.data.datasets.msd import MSDDataset
    from medseg.data.preprocessing import preprocess

    plan = Plan(
        spatial_dims=3,
        channel_names=["MRI"],
        labels={"background": 0, "anterior": 1, "posterior": 2},
        target_spacing=[1.0, 1.0, 1.0],
        crop_to_nonzero=True,
        normalization=[NormalizationSpec(scheme="zscore_nonzero")],
        patch_size=PATCH,
        batch_size=BATCH,
    )
    start = time.perf_counter()
    preprocess(MSDDataset(HIPPO), plan, cache, workers=2, progress=False)
    print(f"cache ready in {time.perf_counter() - start:.1f} s: {cache}", file=sys.stderr)


def medseg_loader(cache: Path, num_cases: int, batches: int, workers: int) -> object:
    from medseg.data.loader import make_loader
    from medseg.data.preprocessing import PreprocessedDataset
    from medseg.data.sampling import RandomROIDataset

    ids = PreprocessedDataset(cache).case_ids[:num_cases]
    data = RandomROIDataset(PreprocessedDataset(cache, ids), PATCH, batches * BATCH, seed=0)
    return make_loader(data, BATCH, workers=workers, pin_memory=False)


def monai_loader(cache: Path, num_cases: int, batches: int, workers: int, cached: bool) -> object:
    from monai.data import CacheDataset, DataLoader, Dataset
    from monai.transforms import Compose, LoadImaged, RandCropByPosNegLabeld, SpatialPadd

    from medseg.data.preprocessing import PreprocessedDataset

    ids = PreprocessedDataset(cache).case_ids[:num_cases]
    files = [
        {"image": str(cache / "cases" / c / "image.npy"), "label": str(cache / "cases" / c / "label.npy")}
        for c in ids
    ]
    files = (files * (batches * BATCH // len(files) + 1))[: batches * BATCH]  # same number of samples
    load = Compose(
        [
            LoadImaged(["image", "label"], reader="NumpyReader", channel_dim=0, image_only=True),
            SpatialPadd(["image", "label"], PATCH),  # MONAI's crop needs the case at least patch-sized
        ]
    )
    crop = RandCropByPosNegLabeld(["image", "label"], "label", PATCH, pos=1, neg=2, num_samples=1)
    if cached:
        unique = files[:num_cases]
        base = CacheDataset(unique, load, cache_rate=1.0, num_workers=1, progress=False)
        data: object = Dataset(list(range(batches * BATCH)), lambda i: crop(base[i % len(unique)])[0])
    else:
        data = Dataset(files, Compose([load, crop]))
    return DataLoader(data, batch_size=BATCH, num_workers=workers, shuffle=True)


def child(args: argparse.Namespace) -> None:
    """Iterate the batches of one loader and print its peak RSS as JSON."""
    import torch

    torch.set_num_threads(1)
    if args.loader == "medseg":
        loader = medseg_loader(args.cache, args.cases, args.batches, args.workers)
    else:
        loader = monai_loader(
            args.cache, args.cases, args.batches, args.workers, args.loader == "monai-cache"
        )
    start, seen = time.perf_counter(), 0
    for batch in loader:  # type: ignore[attr-defined]
        image = batch["image"] if isinstance(batch, dict) else batch[0]
        assert tuple(image.shape[-3:]) == tuple(PATCH), image.shape
        seen += 1
        if seen == args.batches:
            break
    seconds = time.perf_counter() - start
    del loader
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"main_mib": own, "batches_s": seen / seconds}))


def descendants(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text(encoding="utf-8").split()]
            except OSError:
                continue
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB (0, 0 once it has exited)."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0, 0
    values = {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("Rss:", "Pss:"))}
    return values.get("Rss", 0), values.get("Pss", 0)


def run_child(script: Path, loader: str, cases: int, args: argparse.Namespace) -> dict[str, float]:
    """Run one loader in a subprocess; poll its process tree for the peak summed RSS and PSS."""
    cmd = [sys.executable, str(script), "--child", "--loader", loader, "--cases", str(cases)]
    cmd += ["--batches", str(args.batches), "--workers", str(args.workers), "--cache", str(args.cache)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        totals = [memory_kib(p) for p in descendants(proc.pid)]
        peak_rss = max(peak_rss, sum(t[0] for t in totals))
        peak_pss = max(peak_pss, sum(t[1] for t in totals))
        time.sleep(0.05)
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{loader} with {cases} cases failed (exit {proc.returncode})")
    result = dict(json.loads(stdout.strip().splitlines()[-1]))
    result.update(tree_rss_mib=peak_rss / 1024, tree_pss_mib=peak_pss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/medseg_bench_hippo"))
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--loader", default="medseg")
    parser.add_argument("--cases", type=int, default=20)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    build_cache(args.cache)
    print(f"{args.batches} batches of {BATCH}x1x{'x'.join(map(str, PATCH))}, {args.workers} workers\n")
    print(
        "| loader | cases | main maxrss MiB | tree peak PSS MiB | tree peak RSS MiB | batches/s | 208/20 maxrss | 208/20 PSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for loader in ("medseg", "monai", "monai-cache"):
        results = {n: run_child(Path(__file__), loader, n, args) for n in (20, 208)}
        small, large = results[20], results[208]
        for n, r in results.items():
            ratios = "| |"
            if n == 208:
                ratios = f"| {large['main_mib'] / small['main_mib']:.2f} | {large['tree_pss_mib'] / small['tree_pss_mib']:.2f} |"
            print(
                f"| {loader} | {n} | {r['main_mib']:.0f} | {r['tree_pss_mib']:.0f} | {r['tree_rss_mib']:.0f} "
                f"| {r['batches_s']:.1f} {ratios}"
            )


if __name__ == "__main__":
    main()
