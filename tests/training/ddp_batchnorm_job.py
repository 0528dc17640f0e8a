"""One DDP training step of a batch-norm net, run by torchrun in tests/training/test_distributed.py.

Usage: python -m torch.distributed.run --standalone --nproc-per-node 2 ddp_batchnorm_job.py OUT_DIR
Each rank wraps the net with ``distributed.wrap`` on the CPU, takes one SGD step on its own batch and
writes OUT_DIR/rank{R}.json: the wrapper and norm layer types, the error of the step if it failed, and
the weights after the step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from medseg.training import distributed


def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv3d(1, 4, 3, padding=1),
        torch.nn.BatchNorm3d(4),
        torch.nn.ReLU(),
        torch.nn.Conv3d(4, 2, 1),
    )


def main() -> None:
    distributed.init_from_env()
    rank = distributed.rank()
    net = distributed.wrap(network(), torch.device("cpu"))
    record: dict[str, object] = {
        "world_size": distributed.world_size(),
        "wrapper": type(net).__name__,
        "norms": [type(m).__name__ for m in distributed.unwrap(net).modules() if "Norm" in type(m).__name__],
    }
    g = torch.Generator().manual_seed(10 + rank)  # each rank its own batch
    images, labels = torch.randn(2, 1, 6, 6, 6, generator=g), torch.randint(0, 2, (2, 6, 6, 6), generator=g)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    try:
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()
        record["error"] = None
    except (ValueError, RuntimeError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["weights"] = {k: v.flatten().tolist() for k, v in distributed.unwrap(net).state_dict().items()}
    Path(sys.argv[1], f"rank{rank}.json").write_text(json.dumps(record), encoding="utf-8")
    # the DDP wrapper (its reducer holds the process group) goes before the group: destroyed after it,
    # at main()'s return, gloo aborted the process ("terminate called without an active exception")
    # in 2 of 10 runs on a loaded 2-core machine
    del net, optimizer
    distributed.shutdown()


if __name__ == "__main__":
    main()
