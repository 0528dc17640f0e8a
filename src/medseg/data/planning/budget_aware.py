"""Budget-aware choice of network width, depth, patch, batch and 2D/3D: the best expected Dice in time.

Every candidate is scored by :mod:`medseg.data.planning.quality` at the number of steps it can run in
the budget, with step times from :mod:`medseg.data.planning.timing` (a few robust measurements and a
fitted line, never one noisy timing). Two hard rules come first, each applied only where at least
one candidate satisfies it: the patch must see the median foreground object, and the receptive field
must reach at least ``MIN_FIELD_FRACTION`` of it. Candidates whose expected Dice is within ``TIE`` of
the best are equivalent; the cheapest of them wins, so small timing noise does not flip the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from medseg.data.planning.candidates import Candidate
from medseg.data.planning.quality import DEFAULT_MODEL, DataShape, QualityModel
from medseg.data.planning.timing import StepTimeModel, StepTimer, probe_set

TRAIN_FRACTION = 0.8
MEASURE_FRACTION = 0.08
MIN_FIELD_FRACTION = 0.5
FINALISTS = 3
TIE = 0.003


@dataclass(frozen=True)
class Choice:
    """The chosen candidate with its step time, the steps it gets and the Dice the model expects."""

    candidate: Candidate
    seconds_per_step: float
    steps: int
    expected_dice: float


def sees_object(candidate: Candidate, data: DataShape) -> bool:
    """Whether the patch covers the median foreground object on every axis it spans."""
    axes = range(1, len(data.spacing)) if candidate.slices else range(len(data.spacing))
    patch = [1, *candidate.patch_size] if candidate.slices else candidate.patch_size
    return all(patch[a] * data.spacing[a] >= data.object_mm[a] for a in axes)


def field_reaches(candidate: Candidate, data: DataShape) -> bool:
    """Whether the receptive field spans at least ``MIN_FIELD_FRACTION`` of the object on each axis."""
    field = candidate.receptive_field()
    if candidate.slices:
        field = [float("inf"), *field]
    return all(
        f * s >= MIN_FIELD_FRACTION * o for f, s, o in zip(field, data.spacing, data.object_mm, strict=True)
    )


def _filter(
    candidates: list[Candidate], rule: Callable[[Candidate], bool], what: str, reasons: list[str]
) -> list[Candidate]:
    kept = [c for c in candidates if rule(c)]
    if not kept:
        reasons.append(f"budget: no candidate {what}; the rule is not applied")
        return candidates
    if len(kept) < len(candidates):
        reasons.append(f"budget: {len(candidates) - len(kept)} candidate(s) dropped: they do not {what}")
    return kept


def choose_candidate(
    candidates: Sequence[Candidate],
    budget_s: float,
    timer: StepTimer,
    data_for: Callable[[Candidate], DataShape],
    reasons: list[str],
    model: QualityModel = DEFAULT_MODEL,
) -> Choice:
    """The candidate with the best expected Dice in ``budget_s`` seconds (see the module docstring)."""
    pool = _filter(
        list(candidates), lambda c: sees_object(c, data_for(c)), "see the median foreground object", reasons
    )
    pool = _filter(
        pool,
        lambda c: field_reaches(c, data_for(c)),
        f"reach {MIN_FIELD_FRACTION:.0%} of the object with their receptive field",
        reasons,
    )
    times = StepTimeModel(timer, limit_s=MEASURE_FRACTION * budget_s)
    times.fit(probe_set(pool))

    def evaluate(cand: Candidate) -> tuple[float, int]:
        seconds = times.seconds(cand)
        steps = int(max(budget_s - times.spent, 0.0) * TRAIN_FRACTION // max(seconds, 1e-9))
        return model.expected(cand, steps, data_for(cand)), steps

    ranked = sorted(pool, key=lambda c: -evaluate(c)[0])
    for cand in ranked[:FINALISTS]:
        if times.exhausted:
            reasons.append(
                f"budget: stopped confirming after {times.spent:.1f} s ({MEASURE_FRACTION:.0%} of the budget)"
            )
            break
        times.confirm(cand)
    scored = [(evaluate(c), c) for c in pool]
    best = max(score for (score, _), _ in scored)
    tied = [c for (score, _), c in scored if score >= best - TIE]
    chosen = min(tied, key=lambda c: (c.cost(), c.label()))
    expected, steps = evaluate(chosen)
    reasons.append(
        f"budget: {len(pool)} candidates, {sum(len(v) for v in times.measured.values())} timings "
        f"({times.spent:.1f} s), step time ~ {times.describe()}"
    )
    runners = sorted(scored, key=lambda item: -item[0][0])[:3]
    for (score, run_steps), cand in runners:
        reasons.append(
            f"budget: candidate {cand.label()}: {times.seconds(cand):.3f} s/step, {run_steps} steps, "
            f"expected Dice {score:.3f}"
        )
    reasons.append(
        f"budget: chose {chosen.label()} (expected Dice {expected:.3f} in {steps} steps; "
        f"ties within {TIE} go to the cheapest)"
    )
    return Choice(chosen, times.seconds(chosen), steps, expected)
