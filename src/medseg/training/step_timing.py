"""Measure the seconds one training step of a planned network takes, for budget-aware planning.

:func:`medseg.data.planning.plan` cannot build networks (it asks the registry questions only), so it
takes a ``step_timer(candidate) -> seconds`` callable; :func:`step_timer_for` makes one that builds
each candidate's network from the registry and times forward + loss + backward + SGD update on
random data. One timing is the median of ``steps`` steps after a warm-up step; the planner combines
several timings robustly (:mod:`medseg.data.planning.timing`).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from medseg.data.planning import Candidate


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_step_seconds(
    candidate: Candidate,
    in_channels: int,
    out_channels: int = 3,
    steps: int = 3,
    device: str | torch.device = "cpu",
    clock: Callable[[], float] = time.perf_counter,
    amp: str = "off",
) -> float:
    """Median seconds of ``steps`` training steps (after one warm-up step) of the candidate's network.

    A step is forward, cross-entropy loss, backward and an SGD (Nesterov momentum) update on a random
    batch of ``candidate.batch_size`` patches of ``candidate.patch_size``, under the autocast the run
    will train with (``amp``: ``off``, ``bf16`` or ``fp16``, already resolved for the device).
    """
    from medseg.nets import create_network

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    target = torch.device(device)
    network = create_network(
        candidate.network,
        in_channels,
        out_channels,
        candidate.patch_size,
        list(candidate.spacing),
        **candidate.params,
    ).to(target)
    network.train()
    optimiser = torch.optim.SGD(network.parameters(), lr=1e-3, momentum=0.99, nesterov=True)
    autocast: Any = (
        contextlib.nullcontext()
        if amp == "off"
        else torch.autocast(target.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
    )
    generator = torch.Generator().manual_seed(0)
    shape = (candidate.batch_size, in_channels, *candidate.patch_size)
    images = torch.randn(shape, generator=generator).to(target)
    labels = torch.randint(0, out_channels, (shape[0], *shape[2:]), generator=generator).to(target)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        with autocast:
            output = network(images)
            logits = output[0] if isinstance(output, list | tuple) else output
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
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
    out_channels: int = 3,
    steps: int = 3,
    device: str | torch.device = "cpu",
    amp: str = "off",
) -> Callable[[Candidate], float]:
    """A ``step_timer`` for :func:`medseg.data.planning.plan` that measures real steps (``amp``: as in
    :func:`measure_step_seconds`)."""

    def timer(candidate: Candidate) -> float:
        return measure_step_seconds(candidate, in_channels, out_channels, steps, device, amp=amp)

    return timer
