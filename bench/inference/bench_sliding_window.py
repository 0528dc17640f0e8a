"""Sliding-window inference: medseg against MONAI on the same network, same windows, same batch.

Run:  .venv/bin/python bench/inference/bench_sliding_window.py [--sizes 128 256] [--patches 64 96]

For every (volume, window) pair this prints the median wall and CPU (process) time of a few
alternating runs (CPU time is the steadier one on a shared machine), the peak resident memory of
one run in a fresh subprocess (high-water mark reset after imports and setup; +MiB is the peak
above the resident memory before the run), time and memory ratios, and the largest absolute
difference of the outputs.
Variants: MONAI ``sliding_window_inference`` (mode="gaussian", sigma_scale=0.125) and medseg
``sliding_window_inference`` with the default layout; medseg with ``channels_last=True`` (a
channels-last copy with instance norms as group norms, :mod:`medseg.inference.fast_layout`); and, for
fairness, MONAI given a channels-last copy of the network by hand (``monai_cl``, what a MONAI user
can do) and MONAI given medseg's fast copy (``monai_fast``: shows that the gain is the layout, not the
window stitching). ``medseg_fast`` gets the network converted once beforehand, as ``Predictor`` does on
the CPU (``medseg_cl`` converts a copy inside every call, which the memory column then includes). All run under ``torch.no_grad``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

OVERLAP = 0.5
VARIANTS = ("monai", "medseg", "medseg_cl", "medseg_fast", "monai_cl", "monai_fast")


NETWORKS = {
    "conv": "Conv3d(1,4,3)-ReLU-Conv3d(4,4,3)-ReLU-Conv3d(4,2,1)",
    "pointwise": "Conv3d(1,2,1) (so cheap that stitching the windows dominates)",
    "unet": "medseg's default U-Net (nnU-Net topology for 64^3, 5 stages, features 16, instance norm, "
    "leaky ReLU), 1 -> 2 channels",
}


def build_network(kind: str) -> nn.Module:
    """The 3-D net both libraries run (fixed seed, so every process has the same weights)."""
    torch.manual_seed(0)
    if kind == "pointwise":
        return nn.Sequential(nn.Conv3d(1, 2, 1)).eval()
    if kind == "unet":
        from medseg.nets import create_network

        return create_network("unet", 1, 2, (64, 64, 64), features_base=16).eval()
    return nn.Sequential(
        nn.Conv3d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 2, 1)
    ).eval()


def build_input(size: int) -> torch.Tensor:
    """A single-channel ``size^3`` volume."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(1, 1, size, size, size, generator=generator)


def runner(variant: str, net: nn.Module, patch: int, batch: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function volume -> prediction for one variant."""
    from monai.inferers import sliding_window_inference as monai_sliding_window

    from medseg.inference import sliding_window_inference

    roi = (patch,) * 3
    if variant in ("monai", "monai_cl", "monai_fast"):
        from medseg.inference.fast_layout import channels_last_copy

        if variant == "monai_cl":
            model = copy.deepcopy(net).to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]
        else:
            model = channels_last_copy(net, 3) if variant == "monai_fast" else net

        def run_monai(x: torch.Tensor) -> torch.Tensor:
            out = monai_sliding_window(
                x, roi, batch, model, overlap=OVERLAP, mode="gaussian", sigma_scale=0.125
            )
            assert isinstance(out, torch.Tensor)
            return out

        return run_monai
    if variant == "medseg_fast":
        from medseg.inference.fast_layout import channels_last_copy

        fast = channels_last_copy(net, 3)  # converted once, as the Predictor does on the CPU
        return lambda x: sliding_window_inference(x, fast, roi, overlap=OVERLAP, window_batch_size=batch)
    cl = variant == "medseg_cl"
    return lambda x: sliding_window_inference(
        x, net, roi, overlap=OVERLAP, window_batch_size=batch, channels_last=cl
    )


def reset_peak_memory() -> None:
    """Reset the process's resident-memory high-water mark (Linux), so imports do not hide the run."""
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as handle:
        handle.write("5")


def resident_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MiB.

    Not ``ru_maxrss``: after fork + exec it still holds the parent's peak, which no reset clears.
    """
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_memory_child(variant: str, size: int, patch: int, batch: int, threads: int, net_kind: str) -> None:
    """Subprocess body: one run, print the RSS before it and the peak during it (MiB) as JSON."""
    torch.set_num_threads(threads)
    import monai.inferers  # noqa: F401  (same imports in every child, so baselines match)

    import medseg.inference  # noqa: F401

    net, x = build_network(net_kind), build_input(size)
    run = runner(variant, net, patch, batch)
    reset_peak_memory()
    before = resident_mib("VmRSS")
    with torch.no_grad():
        run(x)
    after = resident_mib("VmHWM")
    print(json.dumps({"baseline": before, "peak": after}))


def peak_memory(
    variant: str, size: int, patch: int, batch: int, threads: int, net_kind: str
) -> dict[str, float]:
    """Run one prediction in a fresh interpreter and return its memory numbers."""
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        str(size),
        str(patch),
        str(batch),
        str(threads),
        net_kind,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, encoding="utf-8").stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def median_memory(
    variant: str, size: int, patch: int, args: argparse.Namespace, runs: int
) -> dict[str, float]:
    """The run with the median rise above the baseline among ``runs`` fresh processes."""
    results = [peak_memory(variant, size, patch, args.batch, args.threads, args.net) for _ in range(runs)]
    return sorted(results, key=lambda r: r["peak"] - r["baseline"])[len(results) // 2]


def time_variants(
    size: int, patch: int, batch: int, repeats: int, variants: list[str], net_kind: str
) -> dict[str, object]:
    """Median seconds per variant (alternating runs) and max |difference| to MONAI."""
    net, x = build_network(net_kind), build_input(size)
    runs = {v: runner(v, net, patch, batch) for v in variants}
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpu_times: dict[str, list[float]] = {v: [] for v in variants}
    outputs: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        small = build_input(patch)
        for run in runs.values():
            run(small)  # warm-up: oneDNN picks its kernels for this window shape
        for _ in range(repeats):
            for v, run in runs.items():
                start, cpu_start = time.perf_counter(), time.process_time()
                outputs[v] = run(x)
                times[v].append(time.perf_counter() - start)
                cpu_times[v].append(time.process_time() - cpu_start)
    reference = outputs["monai"]
    diffs = {v: float((out.float() - reference).abs().max()) for v, out in outputs.items()}
    return {
        "median": {v: statistics.median(t) for v, t in times.items()},
        "cpu": {v: statistics.median(t) for v, t in cpu_times.items()},
        "diff": diffs,
    }


def main() -> None:
    """Parse arguments, run the grid and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--patches", type=int, nargs="+", default=[64, 96])
    parser.add_argument("--batch", type=int, default=4, help="windows per network call (both libraries)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--net", choices=sorted(NETWORKS), default="conv")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        help="which variants to run (monai is always included: it is the reference)",
    )
    parser.add_argument(
        "--memory-runs",
        type=int,
        default=1,
        help="fresh processes per memory measurement; the median rise is reported",
    )
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, size, patch, batch, threads, net_kind = args.child
        peak_memory_child(variant, int(size), int(patch), int(batch), int(threads), net_kind)
        return
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), window batch {args.batch}, overlap {OVERLAP}, "
        f"median of {args.repeats}; net {NETWORKS[args.net]}"
    )
    header = (
        "volume",
        "window",
        "variant",
        "wall s",
        "x MONAI",
        "CPU s",
        "x MONAI",
        "peak MiB",
        "+MiB",
        "x MONAI mem",
        "max|diff|",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    variants = ["monai", *[v for v in args.variants if v != "monai"]]
    for size in args.sizes:
        for patch in args.patches:
            timed = time_variants(size, patch, args.batch, args.repeats, variants, args.net)
            medians: dict[str, float] = timed["median"]  # type: ignore[assignment]
            cpu: dict[str, float] = timed["cpu"]  # type: ignore[assignment]
            diffs: dict[str, float] = timed["diff"]  # type: ignore[assignment]
            memory = (
                {}
                if args.no_memory
                else {
                    v: median_memory(v, size, patch, args, args.memory_runs)
                    for v in ("monai", "medseg", "medseg_cl", "medseg_fast")
                    if v in variants
                }
            )
            base_extra = memory["monai"]["peak"] - memory["monai"]["baseline"] if memory else 0.0
            for v in variants:
                mem = memory.get(v)
                extra = mem["peak"] - mem["baseline"] if mem else float("nan")
                cells = (
                    f"{size}^3",
                    f"{patch}^3",
                    v,
                    f"{medians[v]:.2f}",
                    f"{medians[v] / medians['monai']:.2f}",
                    f"{cpu[v]:.2f}",
                    f"{cpu[v] / cpu['monai']:.2f}",
                    f"{mem['peak']:.0f}" if mem else "-",
                    f"{extra:.0f}" if mem else "-",
                    f"{extra / base_extra:.2f}" if mem else "-",
                    f"{diffs[v]:.1e}",
                )
                print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
