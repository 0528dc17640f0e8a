"""Measure the seconds one training step of a planned U-Net takes, for budget-aware planning.

:func:`medseg.data.planning.plan` cannot build networks (data does not import nets), so it takes a
``step_timer(candidate) -> seconds`` callable; :func:`step_timer_for` makes one that builds the
dynamic U-Net of each candidate and times forward + backward + SGD update on random data.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch

from medseg.data.planning import Candidate


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_step_seconds(
    candidate: Candidate,
    in_channels: int,
    out_channels: int,
    spacing: Sequence[float],
    steps: int = 3,
    device: str | torch.device = "cpu",
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median seconds of ``steps`` training steps (after one warm-up step) of the candidate's U-Net.

    A step is forward, cross-entropy loss, backward and an SGD (Nesterov momentum) update on a random
    batch of ``candidate.batch_size`` patches of ``candidate.patch_size``.
    """
    from medseg.nets import create_network

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    target = torch.device(device)
    network = create_network(
        "unet",
        in_channels,
        out_channels,
        candidate.patch_size,
        list(spacing),
        features_base=candidate.features_base,
        pool_strides=candidate.pool_strides,
        conv_kernels=candidate.conv_kernels,
    ).to(target)
    network.train()
    optimiser = torch.optim.SGD(network.parameters(), lr=1e-3, momentum=0.99, nesterov=True)
    generator = torch.Generator().manual_seed(0)
    shape = (candidate.batch_size, in_channels, *candidate.patch_size)
    images = torch.randn(shape, generator=generator).to(target)
    labels = torch.randint(0, out_channels, (shape[0], *shape[2:]), generator=generator).to(target)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        output = network(images)
        logits = output[0] if isinstance(output, list | tuple) else output
        torch.nn.functional.cross_entropy(logits, labels).backward()
        optimiser.step()

    step()
    durations = []
    for _ in range(steps):
        _sync(target)
        start = clock()
        step()
        _sync(target)
        durations.append(clock() - start)
    return float(statistics.median(durations))


def step_timer_for(
    in_channels: int,
    out_channels: int,
    spacing: Sequence[float],
    steps: int = 3,
    device: str | torch.device = "cpu",
) -> Callable[[Candidate], float]:
    """A ``step_timer`` for :func:`medseg.data.planning.plan` that measures real steps."""

    def timer(candidate: Candidate) -> float:
        return measure_step_seconds(candidate, in_channels, out_channels, spacing, steps, device)

    return timer
