"""Forward+backward time, peak memory, parameters and MACs of every registered network.

Run: .venv/bin/python bench/nets/bench_nets.py [--size 64] [--batch 1] [--repeats 2] [--threads 2]
     [--device cpu|cuda] [--only unet,vnet]

Each network runs in its own subprocess so that peak memory is its own: on CPU the peak is the
growth of the process's max RSS (``resource.getrusage``) over one forward+backward, after the
network and the input exist; on CUDA it is ``torch.cuda.max_memory_allocated`` over the same span.
MACs are half the forward FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode``.
The peer comparison pits medseg's ``unet`` against MONAI's ``DynUNet`` built with the same
topology (kernels, strides, features), and every MONAI-backed network against MONAI's own class;
the two of a pair are timed in one process with alternating steps, so that a shared, loaded CPU
slows both alike (separate processes gave ratios of 4-6x between identical networks).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

NETWORKS = [
    "unet",
    "unet-res",
    "unet-pocket",
    "fmgnet",
    "wnet",
    "unetpp",
    "vnet",
    "unetr",
    "swinunetr",
    "mednext-s",
    "mednext-b",
    "mednext-m",
    "mednext-l",
    "cmunext",
    "transunet",
]
PEERS = {
    "unet": "monai-dynunet",
    "vnet": "monai-vnet",
    "unetpp": "monai-unetpp",
    "mednext-b": "monai-mednext-b",
}


def build(name: str, patch: tuple[int, ...]) -> nn.Module:
    """medseg network ``name`` or the MONAI peer ``monai-*`` for a 1-channel, 3-class problem."""
    from monai.networks import nets as monai_nets

    from medseg.nets import create_network, unet_topology

    if name == "monai-dynunet":
        topo = unet_topology(patch)
        return monai_nets.DynUNet(
            len(patch),
            1,
            3,
            kernel_size=topo.conv_kernels,
            strides=[(1,) * len(patch), *topo.pool_strides],
            upsample_kernel_size=topo.pool_strides,
            filters=topo.features,
            trans_bias=True,
        )
    if name == "monai-vnet":
        return monai_nets.VNet(spatial_dims=len(patch), in_channels=1, out_channels=3)
    if name == "monai-unetpp":
        return monai_nets.BasicUNetPlusPlus(spatial_dims=len(patch), in_channels=1, out_channels=3)
    if name == "monai-mednext-b":
        from monai.networks.nets.mednext import create_mednext

        return create_mednext("B", spatial_dims=len(patch), in_channels=1, out_channels=3)
    return create_network(name, 1, 3, patch)


def _first(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, list | tuple) else out


def worker(name: str, patch: tuple[int, ...], batch: int, repeats: int, device: str) -> dict[str, Any]:
    """Measure one network in this process; returns the row as a dict."""
    net = build(name, patch).to(device).train()
    x = torch.randn(batch, 1, *patch, device=device)
    params = sum(p.numel() for p in net.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    macs = counter.get_total_flops() / 2

    def step() -> None:
        _first(net(x)).float().square().mean().backward()
        net.zero_grad(set_to_none=True)

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    step()  # warm-up, also the memory measurement
    sync()
    if device == "cuda":
        peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return {
        "name": name,
        "params_m": params / 1e6,
        "gmacs": macs / 1e9,
        "ms": 1000 * min(times),
        "peak_mb": peak_mb,
    }


def pair_worker(
    names: list[str], patch: tuple[int, ...], batch: int, repeats: int, device: str
) -> dict[str, Any]:
    """Time two networks in one process, alternating their steps so that both see the same load."""
    nets = [build(name, patch).to(device).train() for name in names]
    x = torch.randn(batch, 1, *patch, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    best = [float("inf")] * len(nets)
    for round_ in range(repeats + 1):
        for i, net in enumerate(nets):
            start = time.perf_counter()
            _first(net(x)).float().square().mean().backward()
            net.zero_grad(set_to_none=True)
            sync()
            if round_ > 0:  # round 0 is the warm-up
                best[i] = min(best[i], time.perf_counter() - start)
    return {"names": names, "ms": [1000 * b for b in best]}


def run_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`worker` for ``name`` in a fresh subprocess."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--size",
        str(args.size),
        "--batch",
        str(args.batch),
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
        "--device",
        args.device,
        "--dims",
        str(args.dims),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, encoding="utf-8")
    if done.returncode != 0:
        return {"name": name, "error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def run_pair(ours: str, peer: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`pair_worker` for ``ours`` and ``peer`` in a fresh subprocess."""
    command = [
        sys.executable,
        __file__,
        "--pair",
        f"{ours},{peer}",
        "--size",
        str(args.size),
        "--batch",
        str(args.batch),
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
        "--device",
        args.device,
        "--dims",
        str(args.dims),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, encoding="utf-8")
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def main() -> None:
    """Parse arguments; as a worker print one JSON row, else run every network and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--dims", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", default="")
    parser.add_argument("--worker", default="")
    parser.add_argument("--pair", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    patch = (args.size,) * args.dims
    if args.worker:
        torch.manual_seed(0)
        print(json.dumps(worker(args.worker, patch, args.batch, args.repeats, args.device)))
        return
    if args.pair:
        torch.manual_seed(0)
        print(json.dumps(pair_worker(args.pair.split(","), patch, args.batch, args.repeats, args.device)))
        return
    names = args.only.split(",") if args.only else NETWORKS
    print(
        f"batch {args.batch} x 1 x {' x '.join(map(str, patch))}, {args.device}, {args.threads} threads, "
        f"fwd+bwd best of {args.repeats} after 1 warm-up"
    )
    rows = {name: run_one(name, args) for name in names}
    print(f"| {'network':12s} | params (M) | GMACs (fwd) | fwd+bwd ms | peak MB |")
    print("|---|---:|---:|---:|---:|")
    for row in rows.values():
        if "error" in row:
            print(f"| {row['name']:12s} | error: {row['error']} | | | |")
            continue
        print(
            f"| {row['name']:12s} | {row['params_m']:10.2f} | {row['gmacs']:11.2f} | {row['ms']:10.0f} | "
            f"{row['peak_mb']:7.0f} |"
        )
    print("\nPeers (MONAI) side by side, timed alternately in one process; ratio = medseg / MONAI")
    print("| medseg | MONAI | params ratio | medseg ms | MONAI ms | time ratio | memory ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for ours, peer in PEERS.items():
        if ours not in rows or "error" in rows[ours]:
            continue
        theirs = run_one(peer, args)
        if "error" in theirs:
            print(f"| {ours} | {peer} | error: {theirs['error']} | | |")
            continue
        a = rows[ours]
        pair = run_pair(ours, peer, args)
        if "error" in pair:
            print(f"| {ours} | {peer} | error: {pair['error']} | | | | |")
            continue
        mine, other = pair["ms"]
        print(
            f"| {ours} | {peer} | {a['params_m'] / theirs['params_m']:.2f} | {mine:.0f} | {other:.0f} | "
            f"{mine / other:.2f} | {a['peak_mb'] / max(theirs['peak_mb'], 1e-9):.2f} |"
        )


if __name__ == "__main__":
    main()
