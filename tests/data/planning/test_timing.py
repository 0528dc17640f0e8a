"""The step-time model: a few timings predict every candidate's step time on this kind of CPU."""

from __future__ import annotations

from medseg.data.planning.candidates import Candidate
from medseg.data.planning.timing import StepTimeModel, probe_set
from medseg.nets import network_entry


def this_cpu(candidate: Candidate) -> float:
    """Step seconds as measured on the 2-core dev CPU (widths 8/16/24/32 at 40x56x40, batch 2, 3 stages:
    0.15/0.25/0.55/0.77 s): a fixed overhead plus work at a constant throughput."""
    return 0.07 + 0.08e-9 * candidate.cost()


def _candidates() -> list[Candidate]:
    entry = network_entry("unet")
    return [
        Candidate.build(entry, width, [40, 56, 40], 2, [1.0, 1.0, 1.0], pools)
        for width in (8, 16, 24, 32)
        for pools in (2, 3)
    ]


def test_probing_the_extremes_predicts_the_middle_within_ten_percent() -> None:
    candidates = _candidates()
    cheapest = min(candidates, key=lambda c: c.cost())
    costliest = max(candidates, key=lambda c: c.cost())
    times = StepTimeModel(this_cpu)
    times.fit([cheapest, costliest])
    for cand in candidates:
        # the former log-log power law put width 16 at 0.35 s where it takes 0.25 s (40 % off)
        assert abs(times.predicted(cand) / this_cpu(cand) - 1) < 0.10, cand.label()


def test_one_outlier_among_the_probes_does_not_move_the_line() -> None:
    candidates = _candidates()
    disturbed: list[Candidate] = []

    def noisy(c: Candidate) -> float:
        if not disturbed and c.features_base == 16:
            disturbed.append(c)
            return this_cpu(c) * 3.0  # one timing taken while another job ran
        return this_cpu(c)

    times = StepTimeModel(noisy)
    times.fit(probe_set(candidates))
    assert disturbed
    for cand in candidates:
        assert abs(times.predicted(cand) / this_cpu(cand) - 1) < 0.15, cand.label()


def test_timings_that_fall_with_cost_give_a_time_proportional_to_work() -> None:
    candidates = sorted(_candidates(), key=lambda c: c.cost())[:2]
    times = StepTimeModel(lambda c: 0.5 if c is candidates[0] else 0.4)
    times.fit(candidates)
    assert times.overhead == 0.0 and times.per_cost > 0
    assert times.predicted(candidates[1]) > times.predicted(candidates[0])
