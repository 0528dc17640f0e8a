"""One DDP training step, run by torchrun in tests/training/test_distributed.py.

Usage: python -m torch.distributed.run --standalone --nproc-per-node 2 ddp_step_job.py OUT
Every rank takes its half of a fixed batch of 4; rank 0 writes the weights after one SGD step to OUT.
"""

from __future__ import annotations

import sys

import torch

from medseg.io.state import save_state
from medseg.training import distributed


def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.InstanceNorm2d(4, affine=True),
        torch.nn.LeakyReLU(),
        torch.nn.Conv2d(4, 3, 1),
    )


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(4, 1, 12, 12, generator=g), torch.randint(0, 3, (4, 12, 12), generator=g)


def main() -> None:
    distributed.init_from_env()
    net = distributed.wrap(network(), torch.device("cpu"))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    images, labels = batch()
    half = slice(2 * distributed.rank(), 2 * distributed.rank() + 2)
    loss = torch.nn.functional.cross_entropy(net(images[half]), labels[half])
    loss.backward()
    optimizer.step()
    if distributed.is_main():
        save_state(sys.argv[1], {"weights": distributed.unwrap(net).state_dict()})
    del net, optimizer  # the DDP wrapper goes before its process group (distributed.shutdown)
    distributed.shutdown()


if __name__ == "__main__":
    main()
