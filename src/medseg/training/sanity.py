"""Sanity check before the first epoch: output shape, parameter count and MACs of the network."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SanityReport:
    """What the sanity check measured."""

    input_shape: tuple[int, ...]
    output_shapes: list[tuple[int, ...]]
    parameters: int
    macs: int


def sanity_check(network: nn.Module, example_shape: tuple[int, ...], device: torch.device) -> SanityReport:
    """Run one batch-1 forward pass under ``FlopCounterMode`` (MACs = FLOPs / 2).

    Raises ValueError when the output's spatial shape differs from the input's.
    """
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros((1, *example_shape), device=device)
    was_training = network.training
    network.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = network(x)
    network.train(was_training)
    outputs = list(out) if isinstance(out, list | tuple) else [out]
    shapes = [tuple(int(s) for s in o.shape) for o in outputs]
    if shapes[0][2:] != tuple(example_shape[1:]):
        raise ValueError(f"network output spatial shape {shapes[0][2:]} != input {tuple(example_shape[1:])}")
    params = sum(p.numel() for p in network.parameters())
    return SanityReport(tuple(x.shape), shapes, params, int(counter.get_total_flops() // 2))


_REPORTS: weakref.WeakKeyDictionary[nn.Module, SanityReport] = weakref.WeakKeyDictionary()


def cached_sanity_check(
    network: nn.Module, example_shape: tuple[int, ...], device: torch.device
) -> SanityReport:
    """:func:`sanity_check`, run once per network (the console and the tracking callback share it)."""
    report = _REPORTS.get(network)
    if report is None or report.input_shape[1:] != tuple(example_shape):
        report = _REPORTS[network] = sanity_check(network, example_shape, device)
    return report
