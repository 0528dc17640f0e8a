"""CUDA check of sliding-window inference (needs a GPU; CI has none, so this is not a test).

Run:  PYTHONPATH=src python bench/inference/check_cuda.py [--size 192] [--patch 96]

Compares every device arrangement with the CPU result (which the tests hold equal to MONAI):
network and sum on the GPU; network on the GPU with the sum on the CPU; float16 accumulation
(the CUDA default). Prints max |difference|, wall time and peak GPU memory of each, then checks
mirror TTA on the GPU against the CPU.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch import nn

from medseg.inference import sliding_window_inference
from medseg.inference.tta import mirror_tta


def build_network() -> nn.Module:
    """A small 3-D conv net with fixed weights."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv3d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv3d(16, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv3d(16, 3, 1),
    ).eval()


def timed(fn: object, repeats: int = 3) -> tuple[torch.Tensor, float, float]:
    """Output, median seconds and peak GPU MiB of ``fn()`` (after one warm-up)."""
    assert callable(fn)
    fn()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    out = None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    assert out is not None
    return out, sorted(times)[len(times) // 2], torch.cuda.max_memory_allocated() / 2**20


def main() -> None:
    """Run the comparisons and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    torch.backends.cudnn.allow_tf32 = False  # exact float32 convolutions, so differences mean bugs
    torch.backends.cuda.matmul.allow_tf32 = False
    cpu_net = build_network()
    gpu_net = copy.deepcopy(cpu_net).cuda()
    x = torch.randn(1, 1, args.size, args.size, args.size, generator=torch.Generator().manual_seed(1))
    patch = (args.patch,) * 3
    common = {"overlap": 0.5, "window_batch_size": args.batch}
    reference = sliding_window_inference(x, cpu_net, patch, **common)
    x_gpu = x.cuda()
    variants = {
        "gpu net, gpu sum, float32": lambda: sliding_window_inference(
            x_gpu, gpu_net, patch, half_precision_accumulation=False, **common
        ),
        "gpu net, gpu sum, float16 (default)": lambda: sliding_window_inference(
            x_gpu, gpu_net, patch, **common
        ),
        "gpu net, cpu sum, float32": lambda: sliding_window_inference(x, gpu_net, patch, **common),
        "cpu input, gpu net+sum (accumulate_device)": lambda: sliding_window_inference(
            x, gpu_net, patch, accumulate_device="cuda", half_precision_accumulation=False, **common
        ),
    }
    print(
        f"{torch.cuda.get_device_name()}, torch {torch.__version__}, volume {args.size}^3, window {args.patch}^3"
    )
    print("| variant | dtype | device | max abs diff to CPU | time s | peak GPU MiB |")
    print("|---|---|---|---|---|---|")
    for name, fn in variants.items():
        out, seconds, peak = timed(fn)
        diff = float((out.float().cpu() - reference).abs().max())
        print(
            f"| {name} | {out.dtype} | {out.device} | {diff:.1e} | {seconds:.3f} | {peak:.0f} |", flush=True
        )
        tolerance = 5e-3 if out.dtype == torch.float16 else 1e-4
        assert diff <= tolerance, f"{name}: difference {diff} above {tolerance}"
    small = x[:, :, :64, :64, :64]
    cpu_tta = mirror_tta(lambda t: sliding_window_inference(t, cpu_net, (32, 32, 32)), small)
    gpu_tta = mirror_tta(
        lambda t: sliding_window_inference(t, gpu_net, (32, 32, 32), half_precision_accumulation=False),
        small.cuda(),
    )
    tta_diff = float((gpu_tta.cpu() - cpu_tta).abs().max())
    print(f"mirror TTA (8 flips) GPU vs CPU: max abs diff {tta_diff:.1e}")
    assert tta_diff <= 1e-4


if __name__ == "__main__":
    main()
