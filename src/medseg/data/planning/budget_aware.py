"""Budget-aware choice of network width, depth, patch and batch by measuring real training steps.

The model of "which candidate reaches the best Dice within the time budget" (kept simple on purpose):

1. *Enough iterations first.* Training that stops before it converges is worse than a smaller model
   that converged. A candidate is feasible when the steps it can run in the budget reach
   ``required = max(MIN_STEPS, PASSES * cases / cases_per_step)``: at least 1000 optimiser steps
   and at least 50 passes over the data, where one step sees ``batch * min(1, patch / median case)``
   cases' worth of voxels (a small patch thus needs proportionally more steps to see the data).
   Calibration: the 60-minute CPU run on Task04 Hippocampus (208 cases) with the widest candidate
   (features 32, 3150 steps of batch 2 = 38 passes) was still gaining ~0.002 Dice per 5 passes when
   its learning rate reached zero and ended at 0.874 mean Dice
   (bench/training/results/hippocampus_fold0_metrics.csv); the earlier rule (250 steps, 5 passes)
   chose it because width looked free. 50 passes makes the planner trade width for iterations
   there (features 16 runs ~2.4-3.4x more steps on this CPU). nnU-Net's full schedule is far
   beyond either (~13,500 passes on this task); the rule only has to separate "will roughly
   converge" from "will stop while still learning".
2. *Then the most capacity x context.* Among feasible candidates the score is
   ``features_base * stages`` (width x depth) times the fraction of the median case one patch covers
   (context beyond the whole image adds nothing). Ties go to the candidate with more steps.
3. If none is feasible, the one closest to feasible (largest steps / required) is taken.

Only ``TRAIN_FRACTION`` of the budget left after measuring counts as training time (the rest is
validation, data loading and checkpoints). Candidates are measured cheapest first (by a FLOP proxy);
one that cannot beat the best feasible score is not measured, and once one is too slow, every
costlier one is skipped as too slow too; measuring stops when it has used ``MEASURE_FRACTION`` of
the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medseg.core.topology import make_divisible
from medseg.data.planning.budget import Budget, Candidate, StepTimer

FEATURES_BASE_CHOICES = (8, 16, 24, 32)
PATCH_VOLUME_FRACTIONS = (1.0, 0.5, 0.25, 0.125)
MIN_STEPS = 1000
PASSES = 50.0
TRAIN_FRACTION = 0.8
MEASURE_FRACTION = 0.15
MEASURED_STEPS = 4  # what one timing costs in steps (warm-up + measured), for the bookkeeping


@dataclass(frozen=True)
class Measured:
    """A candidate with its measured step time and what that means for the budget."""

    candidate: Candidate
    seconds_per_step: float
    steps_possible: int
    required_steps: int
    score: float

    @property
    def feasible(self) -> bool:
        """Whether the candidate gets the steps it needs within the budget."""
        return self.steps_possible >= self.required_steps


def enumerate_candidates(
    base_patch: Sequence[int], spacing: Sequence[float], max_pools: int | None, batch_sizes: Sequence[int]
) -> list[Candidate]:
    """Width x patch (scaled down from ``base_patch``) x depth (full, one pool less) x batch size."""
    dims = len(base_patch)
    patches: list[list[int]] = []
    for fraction in PATCH_VOLUME_FRACTIONS:
        scaled = [max(4, int(p * fraction ** (1.0 / dims))) for p in base_patch]
        patch = make_divisible(scaled, spacing, max_pools)
        if patch not in patches:
            patches.append(patch)
    out: list[Candidate] = []
    for patch in patches:
        full = Candidate.build(8, patch, 2, spacing, max_pools).num_stages - 1
        for pools in sorted({full, max(1, full - 1)}, reverse=True):
            for features in FEATURES_BASE_CHOICES:
                for batch in sorted(set(batch_sizes)):
                    cand = Candidate.build(
                        features, make_divisible(patch, spacing, pools), batch, spacing, pools
                    )
                    if cand not in out:
                        out.append(cand)
    return out


def required_steps(candidate: Candidate, num_cases: int, median_case_voxels: float) -> int:
    """Steps needed to converge under the module's model (>= MIN_STEPS and PASSES passes over the data)."""
    coverage = min(1.0, math.prod(candidate.patch_size) / max(median_case_voxels, 1.0))
    cases_per_step = candidate.batch_size * coverage
    return max(MIN_STEPS, math.ceil(PASSES * num_cases / cases_per_step))


def score(candidate: Candidate, median_case_voxels: float) -> float:
    """Capacity (features_base x stages) times context (fraction of the median case in one patch)."""
    context = min(1.0, math.prod(candidate.patch_size) / max(median_case_voxels, 1.0))
    return candidate.features_base * candidate.num_stages * context


def choose_candidate(
    candidates: Sequence[Candidate],
    budget: Budget,
    step_timer: StepTimer,
    num_cases: int,
    median_case_voxels: float,
    reasons: list[str],
) -> Measured:
    """Measure candidates with ``step_timer`` and pick one (see the module docstring for the model)."""
    time_budget = budget.time_budget_s
    if time_budget is None:
        raise ValueError("choose_candidate needs a budget with time_budget_s")
    ordered = sorted(candidates, key=lambda c: c.cost())
    measured: list[Measured] = []
    spent = 0.0
    too_slow_cost = math.inf
    skipped = 0
    for cand in ordered:
        required = required_steps(cand, num_cases, median_case_voxels)
        cand_score = score(cand, median_case_voxels)
        best = max((m.score for m in measured if m.feasible), default=-math.inf)
        if cand.cost() >= too_slow_cost:
            skipped += 1
            continue
        if cand_score <= best:
            continue
        if spent > MEASURE_FRACTION * time_budget:
            reasons.append(
                f"budget: stopped measuring after {spent:.1f} s ({MEASURE_FRACTION:.0%} of the budget)"
            )
            break
        seconds = float(step_timer(cand))
        spent += seconds * MEASURED_STEPS
        train_time = max(time_budget - spent, 0.0) * TRAIN_FRACTION
        steps = int(train_time // max(seconds, 1e-9))
        result = Measured(cand, seconds, steps, required, cand_score)
        measured.append(result)
        verdict = "feasible" if result.feasible else "too slow"
        reasons.append(
            f"budget: measured ({cand.label()}): {seconds:.3f} s/step -> {steps} steps possible, "
            f"{required} required, score {cand_score:.1f}: {verdict}"
        )
        if not result.feasible:
            too_slow_cost = min(too_slow_cost, cand.cost())
    if skipped:
        reasons.append(f"budget: skipped {skipped} candidate(s) costlier than one already too slow")
    if not measured:
        raise ValueError("budget-aware planning measured no candidate")
    feasible = [m for m in measured if m.feasible]
    if feasible:
        chosen = max(feasible, key=lambda m: (m.score, m.steps_possible))
        reasons.append(
            f"budget: chose ({chosen.candidate.label()}): highest capacity x context ({chosen.score:.1f}) "
            f"among {len(feasible)} candidate(s) reaching their required steps "
            f"({chosen.steps_possible} possible >= {chosen.required_steps})"
        )
    else:
        chosen = max(measured, key=lambda m: m.steps_possible / m.required_steps)
        reasons.append(
            f"budget: no candidate reaches its required steps in {time_budget:g} s; chose the closest "
            f"({chosen.candidate.label()}: {chosen.steps_possible} of {chosen.required_steps} steps)"
        )
    return chosen


def median_voxels(shapes: np.ndarray) -> float:
    """Median number of voxels per case of a ``(cases, axes)`` shape array."""
    return float(np.median(np.prod(shapes, axis=1)))
