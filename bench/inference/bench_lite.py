"""The lite predictor (ONNX Runtime, no torch) against the torch CPU Predictor on real cases.

Run:  .venv/bin/python bench/inference/bench_lite.py [--threads 1 2] [--rounds 3] [--cases 4]

Workload: the demo's held-out cases of the embedded hippocampus sample (the last 8 sorted ids; the
first ``--cases`` of them),
predicted end to end (read, preprocess, sliding window with Gaussian blending, mirror TTA over all
3 axes = 8 passes, invert, decode) with nnU-Net's hippocampus topology: a 3-D U-Net, patch
40x56x40, 32 base features (weights random with a fixed seed: speed does not depend on them; the
model is exported with ``medseg.inference.export.export_model`` like ``medseg export`` does).
Contenders, run alternately in each round so that machine load hits all of them alike:

- ``torch``: ``Predictor`` as ``medseg predict`` makes it on the CPU (channels-last fast layout);
- ``torch_plain``: ``Predictor(channels_last=False)`` (the layout the export is traced from);
- ``lite``: ``LitePredictor`` (ONNX Runtime CPU provider).

Printed per thread count: min and median seconds per pass over the cases, the ratio to ``torch``
(< 1 = faster), and the agreement of the label maps (min Dice per label, lite vs torch).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from medseg.config.plan import NetworkSpec, NormalizationSpec, Plan
from medseg.data.sample import load_sample
from medseg.inference.export import export_model
from medseg.inference.predictor import Predictor
from medseg.io.state import save_state
from medseg.lite import LitePredictor
from medseg.nets import create_network

PATCH = [40, 56, 40]


def make_checkpoint(folder: Path) -> Path:
    """A checkpoint of nnU-Net's hippocampus topology with seeded random weights."""
    plan = Plan(
        spatial_dims=3,
        channel_names=["MRI"],
        labels={"background": 0, "Anterior": 1, "Posterior": 2},
        target_spacing=[1.0, 1.0, 1.0],
        normalization=[NormalizationSpec(scheme="zscore")],
        patch_size=PATCH,
        batch_size=2,
        network=NetworkSpec(name="unet", params={"features_base": 32}, deep_supervision=True),
    )
    torch.manual_seed(0)
    net = create_network(
        "unet", 1, 3, PATCH, spacing=plan.target_spacing, deep_supervision=True, features_base=32
    )
    path = folder / "checkpoints" / "best.safetensors"
    save_state(path, {"weights": net.state_dict()}, {"plan": plan.model_dump_json()})
    return path


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Min Dice over the labels present in either map."""
    values = (set(np.unique(a)) | set(np.unique(b))) - {0}
    return min(
        (
            2.0 * float(((a == v) & (b == v)).sum()) / max(float((a == v).sum() + (b == v).sum()), 1.0)
            for v in values
        ),
        default=1.0,
    )


def main() -> None:
    """Run the benchmark and print one table per thread count (plus JSON with --json)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sample = load_sample()
    held_out = [sample[i] for i in sorted(range(len(sample)), key=lambda i: sample.case_ids[i])][-8:]
    cases = held_out[: args.cases]
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = make_checkpoint(Path(tmp))
        exported = export_model(checkpoint, Path(tmp) / "hippo.onnx")
        print(f"export: max abs logit difference {exported.max_abs_difference:.2e}, {exported.seconds:.1f} s")
        for threads in args.threads:
            torch.set_num_threads(threads)
            contenders = {
                "torch": Predictor(checkpoint),
                "torch_plain": Predictor(checkpoint, channels_last=False),
                "lite": LitePredictor(exported.model, threads=threads),
            }
            times: dict[str, list[float]] = {name: [] for name in contenders}
            labels: dict[str, list[np.ndarray]] = {}
            for predictor in contenders.values():  # warm-up: lazy network build, ORT memory arenas
                predictor.predict_case(cases[0])
            for _ in range(args.rounds):
                for name, predictor in contenders.items():
                    start = time.perf_counter()
                    labels[name] = [predictor.predict_case(case).array[0] for case in cases]
                    times[name].append(time.perf_counter() - start)
            base = min(times["torch"])
            print(f"\n{threads} thread(s), {len(cases)} cases, {args.rounds} rounds (seconds per pass)")
            print(f"{'contender':<12} {'min':>8} {'median':>8} {'ratio':>7} {'Dice vs torch':>14}")
            results[str(threads)] = {}
            for name, values in times.items():
                agreement = min(dice(a, b) for a, b in zip(labels[name], labels["torch"], strict=True))
                row = {
                    "min": min(values),
                    "median": statistics.median(values),
                    "ratio": min(values) / base,
                    "dice_vs_torch": agreement,
                }
                results[str(threads)][name] = row
                print(
                    f"{name:<12} {row['min']:8.2f} {row['median']:8.2f} {row['ratio']:7.2f} {agreement:14.5f}"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
