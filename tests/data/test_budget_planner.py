"""The budget-aware planner degrades gracefully: a slower machine costs a little, never everything.

The planner that came before measured candidates cheapest first and skipped every costlier one
after the first "too slow" verdict. Under time pressure the cheapest candidate (the smallest patch,
hence the most required steps) failed first, so everything was skipped and the fallback was the
worst candidate: ``features 8, 2 stages, patch 20x28x20`` and Dice 0.19 on the demo under load.
These tests drive the planner with a fake step timer (a cost model of this CPU) on the real
hippocampus sample and check what the user cares about: the choice under load or with a noisy
timing is close to the quiet choice, and the same machine gives the same plan twice.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from medseg.data.inspection import Fingerprint, inspect
from medseg.data.planning import Budget, Candidate, plan
from medseg.data.planning.budget_aware import field_reaches, sees_object
from medseg.data.planning.quality import DEFAULT_MODEL, DataShape
from medseg.data.sample import load_sample
from medseg.nets import network_entry


@pytest.fixture(scope="module")
def fingerprint() -> Fingerprint:
    dataset = load_sample()
    return inspect(dataset.subset(sorted(dataset.case_ids)[:32]), workers=0, progress=False)


def cpu_timer(
    load: float = 1.0, noisy: Callable[[Candidate], bool] | None = None, jitter: float = 0.0, seed: int = 0
) -> Callable[[Candidate], float]:
    """Seconds per step on this CPU as a cost model (narrow nets run below peak), times ``load``."""
    rng = random.Random(seed)
    disturbed: list[Candidate] = []

    def timer(c: Candidate) -> float:
        voxels = math.prod(c.patch_size) * c.batch_size
        seconds = (2.2e-10 * c.cost() + 4e-7 * voxels + 0.01) * load
        if noisy is not None and noisy(c) and not disturbed:
            disturbed.append(c)
            seconds *= 2.0  # one timing disturbed by another job
        return seconds * (1.0 + rng.uniform(-jitter, jitter))

    return timer


def _plan(fp: Fingerprint, budget_s: float, timer: Callable[[Candidate], float]) -> object:
    return plan(
        fp, Budget(device="cpu", cpu_cores=2, cpu_memory_gb=16, time_budget_s=budget_s), step_timer=timer
    )


def _expected(p: object, fp: Fingerprint, load: float) -> float:
    """The model's expected Dice of plan ``p`` given the steps it gets on a machine ``load`` x slower."""
    cand = Candidate.build(
        network_entry("unet"),
        p.network.params["features_base"],
        p.patch_size,
        p.batch_size,
        p.target_spacing,
        len(p.network.params["pool_strides"]),
    )
    seconds = cpu_timer(load)(cand)
    steps = int(480 * 0.8 / seconds)
    shapes = fp.resampled_shapes(p.target_spacing)
    data = DataShape(
        len(fp.cases),
        float(sorted(math.prod(s) for s in shapes)[len(shapes) // 2]),
        list(fp.summary.foreground_roi_mm or []),
        list(p.target_spacing),
    )
    return DEFAULT_MODEL.expected(cand, steps, data)


def test_a_loaded_machine_costs_a_little_quality_never_a_collapse(fingerprint: Fingerprint) -> None:
    quiet = _plan(fingerprint, 480, cpu_timer(1.0))
    loaded = _plan(fingerprint, 480, cpu_timer(3.0))
    for p in (quiet, loaded):
        stages = len(p.network.params["pool_strides"]) + 1
        assert stages >= 3, p.reasons  # the collapsed plan had 2 stages
        assert p.network.params["features_base"] >= 8
    # judged on the loaded machine: the plan made there is no worse than carrying the quiet plan over
    assert _expected(loaded, fingerprint, 3.0) >= _expected(quiet, fingerprint, 3.0) - 1e-9
    # load only changes the steps the budget buys: 3x slower with 3x the time is the quiet plan. (What
    # the lost steps cost is the calibrated learning curve's business, not the planner's: 560 steps
    # instead of 1800 is a real loss, see planner_calibration.jsonl.)
    slow_but_longer = _plan(fingerprint, 3 * 480, cpu_timer(3.0))
    assert (slow_but_longer.network.params, slow_but_longer.patch_size, slow_but_longer.batch_size) == (
        quiet.network.params,
        quiet.patch_size,
        quiet.batch_size,
    )


def test_one_noisy_timing_does_not_change_the_plan(fingerprint: Fingerprint) -> None:
    clean = _plan(fingerprint, 480, cpu_timer(1.0))
    width = clean.network.params["features_base"]

    def unlucky(c: Candidate) -> bool:  # the chosen configuration's own first timing is disturbed
        return c.features_base == width and c.patch_size == clean.patch_size

    noisy = _plan(fingerprint, 480, cpu_timer(1.0, noisy=unlucky))
    assert (noisy.patch_size, noisy.network.params["features_base"], noisy.batch_size) == (
        clean.patch_size,
        width,
        clean.batch_size,
    )


def test_the_same_machine_gives_the_same_plan_twice(fingerprint: Fingerprint) -> None:
    plans = [_plan(fingerprint, 480, cpu_timer(1.0, jitter=0.1, seed=s)) for s in range(3)]
    keys = {
        (
            tuple(p.patch_size),
            p.network.params["features_base"],
            p.batch_size,
            len(p.network.params["pool_strides"]),
        )
        for p in plans
    }
    assert len(keys) == 1, [p.reasons for p in plans]


def test_more_budget_never_plans_a_worse_model(fingerprint: Fingerprint) -> None:
    expected = []
    for budget in (240, 480, 960, 1920):
        p = _plan(fingerprint, budget, cpu_timer(1.0))
        line = next(r for r in p.reasons if r.startswith("budget: chose"))
        expected.append(float(line.split("expected Dice ")[1].split(" ")[0]))
    assert expected == sorted(expected)


def test_the_chosen_patch_sees_the_object_and_its_field_reaches_it(fingerprint: Fingerprint) -> None:
    p = _plan(fingerprint, 480, cpu_timer(3.0))
    cand = Candidate.build(
        network_entry("unet"),
        p.network.params["features_base"],
        p.patch_size,
        p.batch_size,
        p.target_spacing,
        len(p.network.params["pool_strides"]),
    )
    shapes = fingerprint.resampled_shapes(p.target_spacing)
    data = DataShape(
        len(fingerprint.cases),
        float(sorted(math.prod(s) for s in shapes)[len(shapes) // 2]),
        list(fingerprint.summary.foreground_roi_mm or []),
        list(p.target_spacing),
    )
    assert sees_object(cand, data) and field_reaches(cand, data)


def test_on_this_cpu_the_demo_budget_buys_many_steps_of_width_16_not_few_of_a_wider_net(
    fingerprint: Fingerprint,
) -> None:
    """The 2026-12-02 demo: a power-law step-time fit made width 16 look 40 % slower than it is, and
    the plan was width 32 for 420 steps (held-out Dice 0.82). With the step times measured on this
    CPU the old fit chose width 24 for 574 steps; width 16 gets ~1200."""
    measured = {8: 0.147, 16: 0.245, 24: 0.556, 32: 0.765}  # s/step, 3 stages, 40x56x40, batch 2

    def this_cpu(c: Candidate) -> float:
        return measured[c.features_base] * (1.04 if c.num_stages == 4 else 1.0)

    chosen = _plan(fingerprint, 414, this_cpu)
    assert chosen.network.params["features_base"] == 16, chosen.reasons
    assert chosen.training.steps is not None and chosen.training.steps >= 1000
