"""Every registered network through the ONNX export and ONNX Runtime, in 2D and 3D (not a test: minutes).

Run:  .venv/bin/python bench/inference/check_export_all.py [--dims 2 3] [--names unet ...] [--format pt2]

For each network (small widths, the smallest valid patch: the sizes of tests/nets/test_networks.py)
this exports the eval-mode network with :func:`medseg.inference.export.graph.to_onnx` (dynamic spatial
axes when the graph allows, else a fixed patch) and prints the max abs logit difference to PyTorch at
batch 2 and batch 3, and whether the spatial axes came out dynamic. ``--format pt2`` checks the
``torch.export`` program instead (dynamic batch axis only). The numbers are in docs/deploy.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "nets"))
from test_networks import MIN_2D, MIN_3D, SMALL

from medseg.inference.export.graph import EvalOutput, ort_session, program_runner, to_onnx, to_program
from medseg.nets import create_network


def main() -> None:
    """Print one line per (dims, network)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--names", nargs="+", default=sorted(SMALL))
    parser.add_argument("--format", choices=("onnx", "pt2"), default="onnx")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    print(
        f"{'dims':<5}{'network':<17}{'patch':<16}{'dynamic spatial':<17}{'max abs diff b2 / b3':<24}seconds"
    )
    for dims in args.dims:
        for name in args.names:
            patch = (MIN_2D if dims == 2 else MIN_3D).get(name, (16, 32) if dims == 2 else (16, 16, 16))
            start = time.perf_counter()
            net = create_network(name, 1, 3, patch, **SMALL[name])
            module = EvalOutput(net)
            example = torch.zeros(2, 1, *patch)
            if args.format == "onnx":
                model, dynamic = to_onnx(module, example, divisor=list(net.patch_size_divisor))
                session = ort_session(model)
                run = lambda x, s=session: s.run(None, {"image": x})[0]  # noqa: E731
            else:
                run, dynamic = program_runner(to_program(module, example)), False
            diffs = []
            for batch in (2, 3):
                x = torch.randn(batch, 1, *patch)
                with torch.no_grad():
                    want = module(x).numpy()
                diffs.append(float(np.abs(run(x.numpy()) - want).max()))
            print(
                f"{dims:<5}{name:<17}{patch!s:<16}{dynamic!s:<17}"
                f"{diffs[0]:.1e} / {diffs[1]:.1e}{'':<8}{time.perf_counter() - start:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
