"""The planner's model of quality versus budget: expected Dice of a candidate trained for ``steps``.

``expected = d_max * capacity(width) * context(receptive field, patch vs object) * training(steps, passes)``

* ``capacity = 1 - c_w * exp(-width / k_w)``: narrow networks lose a little, wide ones saturate.
* ``context = prod_a min(1, seen_a / object_a) ** (gamma * w_a)``: per axis, the part of the median
  foreground object (its bounding box, in mm) that the network can relate in one view, i.e. the
  smaller of its *effective* receptive field and its patch. The effective field is ``rho`` times the
  theoretical one (the field's outer voxels contribute little, Luo et al. 2016): with ``rho = 1`` a
  3-stage U-Net (field 41 voxels) and a 4-stage one (89) look alike on a 40-voxel object, yet at 1000
  hippocampus steps they reached Dice 0.79 and 0.83; ``w_a`` weights axes by resolution (finest spacing /
  spacing, normalised to sum 1), so a 5 mm slice axis matters less than a 1 mm one; slice-wise (2D)
  candidates on 3D data see one slice along axis 0.
* ``training = 1 / (1 + (s0_w / steps) ** alpha + (p0 / passes) ** alpha)``: saturates in optimiser
  steps *and* in passes over the data; ``s0_w = s0 * (16 / width) ** beta``: narrow networks need
  more steps to converge (hippocampus, 1000 steps: width 8 reached Dice 0.54, width 16 0.83, while
  width 8 for 3000 steps on a smaller patch reached 0.65), so width buys speed of learning as well
  as capacity (``passes = steps * batch * min(1, patch / median case) / cases``),
  smoothly: one fewer step costs a little, never everything (the former feasibility threshold made
  the choice collapse on a slower machine, see docs/benchmarks.md).

The constants are fitted by ``bench/training/calibrate_planner.py`` on real learning curves (final Dice
of complete schedules of several lengths, widths, depths and patches on Task04 hippocampus and DRIVE);
the fit and its residuals are in docs/benchmarks.md. The model only has to rank candidates: the
trainer refits the schedule to the real pace during training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from medseg.data.planning.candidates import Candidate


@dataclass(frozen=True)
class DataShape:
    """What the model needs to know about the data, in the candidate's own axes."""

    num_cases: int
    median_case_voxels: float
    object_mm: list[float]
    spacing: list[float]


@dataclass(frozen=True)
class QualityModel:
    """The constants of the module docstring's formula (defaults: the calibrated values)."""

    # fitted 2026-12-03 on 15 complete hippocampus schedules, 7 of them demo runs (bench/training/
    # results/planner_calibration.jsonl; RMS residual 0.011 Dice; fit in docs/benchmarks.md). c_w
    # and k_w are a prior, not fitted: converged quality versus width is not identifiable from a few
    # thousand steps (see calibrate_planner.fit); in these runs width acts through beta (speed of
    # learning). rho: the effective fraction of the theoretical receptive field.
    d_max: float = 0.8944
    c_w: float = 0.1
    k_w: float = 10.0
    gamma: float = 0.3559
    s0: float = 352.3
    p0: float = 1.445
    alpha: float = 2.694
    beta: float = 1.200
    rho: float = 0.862

    def capacity(self, width: int) -> float:
        """The width factor."""
        return 1.0 - self.c_w * math.exp(-max(width, 1) / self.k_w)

    def context(self, seen_voxels: Sequence[float], data: DataShape) -> float:
        """The receptive-field/patch factor (``seen_voxels`` per axis of ``data.spacing``)."""
        finest = min(data.spacing)
        weights = [finest / s for s in data.spacing]
        total = sum(weights)
        factor = 1.0
        for seen, spacing, obj, w in zip(seen_voxels, data.spacing, data.object_mm, weights, strict=True):
            fraction = min(1.0, seen * spacing / max(obj, spacing))
            factor *= fraction ** (self.gamma * w / total)
        return factor

    def training(self, steps: float, passes: float, width: int = 16) -> float:
        """The convergence factor (``width``: the network's base features)."""
        if steps <= 0 or passes <= 0:
            return 0.0
        s0 = self.s0 * (16.0 / max(width, 1)) ** self.beta
        return 1.0 / (1.0 + (s0 / steps) ** self.alpha + (self.p0 / passes) ** self.alpha)

    def expected(self, candidate: Candidate, steps: float, data: DataShape) -> float:
        """Expected mean foreground Dice of ``candidate`` trained for ``steps`` optimiser steps."""
        field = candidate.receptive_field()
        seen = [min(self.rho * rf, p) for rf, p in zip(field, candidate.patch_size, strict=True)]
        if candidate.slices:
            seen = [1.0, *seen]
        coverage = min(1.0, math.prod(candidate.patch_size) / max(data.median_case_voxels, 1.0))
        passes = steps * candidate.batch_size * coverage / max(data.num_cases, 1)
        return (
            self.d_max
            * self.capacity(candidate.features_base)
            * self.context(seen, data)
            * self.training(steps, passes, candidate.features_base)
        )


DEFAULT_MODEL = QualityModel()
