"""Training-step speed: a bare PyTorch loop vs medseg's trainer vs its fast options, same net and batches.

Run: .venv/bin/python bench/training/bench_training_step.py [--features 16] [--patch 40 56 40] [--repeats 5]
     [--curve-steps 200] [--threads 2]
     .venv/bin/python bench/training/bench_training_step.py --stages   # GFLOP/s per encoder stage

Contenders (all the planner's default U-Net for hippocampus: 4 stages, deep supervision, Dice+CE):
  bare            a hand-written loop: zero_grad, forward, loss, backward, clip, SGD step, scheduler step
  trainer         medseg's ``SegmentationTrainer.train_step`` on the same batches (overhead target <= 2 %)
  channels_last   instance norms as their equal group norms, channels-last tensors (training.layout)
  bf16            CPU bf16 autocast (training.amp = bf16)
  bf16+cl         both
  compile         ``torch.compile`` of the network (default backend)
  foreach-sgd     SGD with ``foreach=True`` (multi-tensor kernels)

Timings alternate the contenders inside each repeat (a shared machine slows all of them alike); min
and median of the repeats are printed with the ratio to ``bare``. The loss curve of each option over
the first ``--curve-steps`` steps (same initial weights, same batches) is compared with the plain one:
an option is kept as a default only if it is faster and its curve stays within noise (the mean of the
last 50 losses within 2 % of plain's). GFLOP/s per stage come from ``torch.utils.flop_counter`` and a
forward+backward timing of each encoder stage alone.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def _plan(features: int, patch: list[int]) -> Any:
    from medseg.config import NetworkSpec, NormalizationSpec, Plan
    from medseg.nets import network_entry

    params = network_entry("unet").planned_params(patch, [1.0] * len(patch), features)
    return Plan(
        spatial_dims=len(patch),
        channel_names=["mri"],
        labels={"background": 0, "a": 1, "b": 2},
        target_spacing=[1.0] * len(patch),
        normalization=[NormalizationSpec(scheme="zscore")],
        patch_size=patch,
        batch_size=2,
        network=NetworkSpec(name="unet", params=params, deep_supervision=True),
    )


def _batches(n: int, patch: list[int], seed: int = 0) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        image = torch.randn(2, 1, *patch, generator=g)
        label = (image > 0.3).long() + (image > 1.2).long()
        out.append({"image": image, "label": label})
    return out


def _trainer(plan: Any, **training: Any) -> Any:
    from medseg.config import Training
    from medseg.presets.segmentation import SegmentationTrainer

    trainer = SegmentationTrainer(
        "/tmp/medseg_bench_step",
        [],
        None,
        plan=plan,
        training=Training(device="cpu", **training),
        transparency=False,
    )
    trainer.steps_per_epoch = 50
    trainer.num_epochs = 1000
    torch.manual_seed(0)
    trainer.toolbox = trainer.build_toolbox((1, *plan.patch_size), 50_000)
    return trainer


def contenders(plan: Any) -> dict[str, Callable[[dict[str, torch.Tensor]], float]]:
    """Name -> one training step on a batch (each with its own network of the same initial weights)."""
    out: dict[str, Callable[[dict[str, torch.Tensor]], float]] = {}
    bare = _trainer(plan)
    tb = bare.toolbox

    def bare_step(batch: dict[str, torch.Tensor]) -> float:
        tb.optimizer.zero_grad(set_to_none=True)
        loss = tb.criterion(tb.network(batch["image"]), batch["label"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tb.network.parameters(), 12.0)
        tb.optimizer.step()
        tb.scheduler.step()
        return float(loss.detach())

    out["bare"] = bare_step
    out["trainer"] = _trainer(plan).train_step
    out["channels_last"] = _trainer(plan, layout="channels_last").train_step
    out["bf16"] = _trainer(plan, amp="bf16").train_step
    out["bf16+cl"] = _trainer(plan, amp="bf16", layout="channels_last").train_step
    compiled = _trainer(plan)
    compiled.toolbox.network = torch.compile(compiled.toolbox.network)
    out["compile"] = compiled.train_step
    foreach = _trainer(plan)
    for group in foreach.toolbox.optimizer.param_groups:
        group["foreach"] = True
    out["foreach-sgd"] = foreach.train_step
    return out


def stage_throughput(plan: Any, repeats: int, threads: int) -> None:
    """GFLOP/s of each encoder stage alone (forward + backward, batch 2), plain fp32 vs plain bf16 autocast vs
    channels-last (group norm) fp32 vs channels-last bf16 autocast: where the time of a step goes."""
    from torch.utils.flop_counter import FlopCounterMode

    from medseg.inference.fast_layout import channels_last_copy
    from medseg.nets.registry import create_network

    torch.set_num_threads(threads)
    net: Any = create_network("unet", 1, 3, plan.patch_size, plan.target_spacing, **plan.network.params)
    memory = torch.channels_last_3d if len(plan.patch_size) == 3 else torch.channels_last
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, *plan.patch_size, generator=g)
    print(
        f"{'stage':>5s} {'shape in':>22s} {'GFLOP f+b':>9s} {'plain fp32':>11s} {'plain bf16':>11s}"
        f" {'cl fp32':>9s} {'cl bf16':>9s}"
    )
    for index, stage in enumerate(net.encoder):
        with FlopCounterMode(display=False) as counter:
            stage(x.detach().requires_grad_(True)).sum().backward()
        gflop = counter.get_total_flops() / 1e9
        variants = {
            "plain": (stage, x, contextlib.nullcontext),
            "bf16": (stage, x, lambda: torch.autocast("cpu", dtype=torch.bfloat16)),
            "cl": (
                channels_last_copy(stage, x.ndim - 2),
                x.contiguous(memory_format=memory),
                contextlib.nullcontext,
            ),
            "cl-bf16": (
                channels_last_copy(stage, x.ndim - 2),
                x.contiguous(memory_format=memory),
                lambda: torch.autocast("cpu", dtype=torch.bfloat16),
            ),
        }
        best = {k: float("inf") for k in variants}
        for _ in range(repeats):  # alternate the variants inside each repeat
            for name, (module, inp, ctx) in variants.items():
                inp = inp.detach().requires_grad_(True)
                start = time.perf_counter()
                with ctx():
                    out = module(inp)
                out.float().sum().backward()
                best[name] = min(best[name], time.perf_counter() - start)
        rates = [gflop / best[k] for k in variants]
        print(
            f"{index:5d} {tuple(x.shape)!s:>22s} {gflop:9.2f} {rates[0]:11.1f} {rates[1]:11.1f}"
            f" {rates[2]:9.1f} {rates[3]:9.1f}"
        )
        with torch.no_grad():
            x = stage(x)


def main() -> None:
    """Time every contender, compare loss curves, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--patch", type=int, nargs="+", default=[40, 56, 40])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per contender per repeat")
    parser.add_argument("--curve-steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--stages", action="store_true", help="only the GFLOP/s per encoder stage")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    plan = _plan(args.features, args.patch)
    if args.stages:
        stage_throughput(plan, args.repeats, args.threads)
        return
    steps = contenders(plan)
    if args.only:
        steps = {k: v for k, v in steps.items() if k in args.only or k == "bare"}
    warm = _batches(3, args.patch, seed=1)
    for fn in steps.values():
        for batch in warm:
            fn(batch)
    times: dict[str, list[float]] = {k: [] for k in steps}
    timed = _batches(args.steps, args.patch, seed=2)
    for _ in range(args.repeats):
        for name, fn in steps.items():
            start = time.perf_counter()
            for batch in timed:
                fn(batch)
            times[name].append((time.perf_counter() - start) / args.steps)
    base = min(times["bare"])
    print(f"U-Net features {args.features}, patch {args.patch}, batch 2, {args.threads} threads")
    print(f"{'contender':14s} {'min s/step':>10s} {'median':>8s} {'steps/s':>8s} {'time vs bare':>12s}")
    for name, values in times.items():
        print(
            f"{name:14s} {min(values):10.4f} {statistics.median(values):8.4f} {1 / min(values):8.2f} "
            f"{min(values) / base:12.3f}"
        )
    if args.curve_steps:
        curves = {}
        batches = _batches(args.curve_steps, args.patch, seed=3)
        for name in ("trainer", "channels_last", "bf16", "bf16+cl", "foreach-sgd"):
            if name not in steps:
                continue
            fresh = contenders(plan)[name]
            curves[name] = [fresh(b) for b in batches]
        ref = statistics.mean(curves["trainer"][-50:])
        for name, curve in curves.items():
            tail = statistics.mean(curve[-50:])
            print(
                f"loss curve {name:14s}: mean of last 50 = {tail:.4f} ({(tail / ref - 1) * 100:+.2f} % vs plain); "
                f"max |diff| over the curve {max(abs(a - b) for a, b in zip(curve, curves['trainer'])):.4f}"
            )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
