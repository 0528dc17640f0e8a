"""plan(): spacing, normalisation, crop, topology, patch/batch, overrides, JSON, budget-aware choice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from medseg.config.plan import Plan
from medseg.core.errors import ConfigError
from medseg.core.topology import pooling_divisors, unet_topology
from medseg.data.case import Case
from medseg.data.inspection import Fingerprint, inspect
from medseg.data.planning import Budget, Candidate, plan
from medseg.io import Geometry, Image


class ListDataset:
    """A minimal in-memory dataset of cases."""

    def __init__(self, cases: list[Case], channel_names: list[str]) -> None:
        self.cases = cases
        self.case_ids = [c.case_id for c in cases]
        self.channel_names = channel_names

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> Case:
        return self.cases[index]


def _fingerprint(
    spacings: list[tuple[float, ...]],
    shape: tuple[int, ...] = (8, 12, 12),
    channel: str = "MRI",
    zero_border: int = 0,
    offset: float = 0.0,
) -> Fingerprint:
    rng = np.random.default_rng(0)
    cases = []
    for i, spacing in enumerate(spacings):
        image = rng.normal(offset + 50.0, 10.0, size=(1, *shape)).astype(np.float32)
        if zero_border:
            image[:, :zero_border] = 0.0
            image[(slice(None), slice(None), slice(0, zero_border))] = 0.0
        label = np.zeros((1, *shape), dtype=np.uint8)
        label[(0, *(slice(s // 2 - 1, s // 2 + 2) for s in shape))] = 1
        geometry = Geometry.from_array_spacing(spacing)
        cases.append(Case(f"c{i}", Image(image, geometry), Image(label, geometry)))
    return inspect(ListDataset(cases, [channel]), workers=0, progress=False)


def test_target_spacing_is_the_median() -> None:
    fp = _fingerprint([(1.0, 0.8, 0.8), (1.5, 0.7, 0.7), (1.2, 0.9, 0.9)])
    p = plan(fp)
    assert p.target_spacing == [1.2, 0.8, 0.8]
    assert p.resampling.separate_z_axis is None


def test_anisotropic_axis_uses_tenth_percentile_and_separate_z() -> None:
    z = [5.0, 5.0, 4.0, 6.0, 2.5, 5.0]
    fp = _fingerprint([(s, 0.8, 0.8) for s in z])
    p = plan(fp)
    assert p.target_spacing[0] == pytest.approx(float(np.percentile(z, 10)))
    assert p.target_spacing[1:] == [0.8, 0.8]
    assert p.resampling.separate_z_axis == 0
    assert any("10th percentile" in r for r in p.reasons)


def test_ct_normalisation_uses_dataset_foreground_statistics() -> None:
    fp = _fingerprint([(1.0, 1.0, 1.0)] * 3, channel="CT", offset=-500.0)
    stats = fp.summary.foreground_intensity[0]
    assert stats is not None
    spec = plan(fp).normalization[0]
    assert spec.scheme == "ct"
    assert (spec.clip_low, spec.clip_high) == (stats.p00_5, stats.p99_5)
    assert (spec.mean, spec.std) == (stats.mean, stats.std)
    assert spec.mean == pytest.approx(-450.0, abs=5.0)


def test_mri_normalisation_and_crop_follow_the_nonzero_box() -> None:
    whole = plan(_fingerprint([(1.0, 1.0, 1.0)] * 3, shape=(8, 12, 12)))
    assert whole.normalization[0].scheme == "zscore" and whole.crop_to_nonzero is False
    # zero slabs of 3 voxels on axes 0 and 1: the box keeps (5 * 9 * 12) / (8 * 12 * 12) = 47% < 75%
    stripped = plan(_fingerprint([(1.0, 1.0, 1.0)] * 3, shape=(8, 12, 12), zero_border=3))
    assert stripped.normalization[0].scheme == "zscore_nonzero" and stripped.crop_to_nonzero is True


def test_topology_rule_by_hand() -> None:
    topo = unet_topology([16, 128, 128], [4.0, 1.0, 1.0])
    # spacing (4, 1, 1): axis 0 waits until in-plane spacing reaches 4 (two poolings), then all pool;
    # after three more, axis 0 has 4 voxels left and stops while in-plane pools once more
    assert topo.pool_strides == ((1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2), (1, 2, 2))
    assert topo.conv_kernels == ((1, 3, 3), (1, 3, 3)) + ((3, 3, 3),) * 4
    assert pooling_divisors([16, 128, 128], [4.0, 1.0, 1.0]) == (4, 32, 32)
    assert pooling_divisors([40, 56, 40], [1.0, 1.0, 1.0]) == (8, 8, 8)  # stops at feature maps < 8


@pytest.mark.parametrize(
    ("spacings", "shape"),
    [([(1.0, 1.0, 1.0)], (37, 50, 35)), ([(5.0, 0.7, 0.7)], (20, 61, 59)), ([(1.0, 1.0)], (300, 190))],
)
def test_patch_is_divisible_and_fits_memory(
    spacings: list[tuple[float, ...]], shape: tuple[int, ...]
) -> None:
    fp = _fingerprint(spacings * 2, shape=shape)
    for rule in ("nnunet", "mist"):
        p = plan(fp, Budget(device="cuda", gpu_memory_gb=4.0), patch_rule=rule)  # type: ignore[arg-type]
        assert p.spatial_dims == len(shape)
        divisors = pooling_divisors(p.patch_size, p.target_spacing)
        assert all(s % d == 0 for s, d in zip(p.patch_size, divisors))
        assert p.batch_size >= 2
        assert p.network.params["pool_strides"] == [
            list(s) for s in unet_topology(p.patch_size, p.target_spacing).pool_strides
        ]


def test_nnunet_rule_shrinks_the_patch_to_the_memory_budget() -> None:
    fp = _fingerprint([(1.0, 1.0, 1.0)] * 2, shape=(8, 12, 12))
    fp.cases[0].shape = fp.cases[1].shape = [160, 160, 160]
    big = plan(fp, Budget(device="cuda", gpu_memory_gb=40.0))
    small = plan(fp, Budget(device="cuda", gpu_memory_gb=4.0))
    assert big.patch_size == [160, 160, 160]
    assert math.prod(small.patch_size) < math.prod(big.patch_size)


def test_overrides_and_exact_error_messages() -> None:
    fp = _fingerprint([(1.0, 1.0, 1.0)] * 2, shape=(16, 16, 16))
    p = plan(
        fp, overrides={"patch_size": [8, 8, 8], "orientation": "ras", "network.params.features_base": 16}
    )
    assert p.patch_size == [8, 8, 8] and p.orientation == "RAS" and p.network.params["features_base"] == 16
    with pytest.raises(ConfigError) as info:
        plan(fp, overrides={"normalization.0.scheme": "foo"})
    assert str(info.value) == (
        "plan override 'normalization.0.scheme' = 'foo' is invalid: not one of the choices; "
        "valid choices: 'ct', 'zscore', 'zscore_nonzero', 'minmax' or 'none'"
    )
    with pytest.raises(
        ConfigError, match=r"^plan override 'patchsize' = \[8\] is invalid: unknown plan field; "
    ):
        plan(fp, overrides={"patchsize": [8]})
    with pytest.raises(ConfigError) as info:
        plan(fp, overrides={"patch_size": [12, 16, 18]})
    assert str(info.value) == (
        "plan override 'patch_size' = [12, 16, 18] is invalid: patch_size axis 2 = 18 is not divisible by 4; "
        "nearest valid sizes: 16 (lower) or 20 (upper); valid choices: e.g. [12, 16, 20] for network 'unet'"
    )


def test_plan_json_round_trip(tmp_path: Path) -> None:
    p = plan(_fingerprint([(3.0, 1.0, 1.0)] * 2, channel="CT"))
    assert Plan.model_validate_json(p.model_dump_json()) == p
    p.save(tmp_path / "plan.json")
    assert Plan.load(tmp_path / "plan.json") == p
    (tmp_path / "bad.json").write_text('{"version": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.json: invalid plan at spatial_dims: Field required$"):
        Plan.load(tmp_path / "bad.json")


def _timer(calls: list[Candidate]) -> object:
    def step_seconds(candidate: Candidate) -> float:
        calls.append(candidate)
        return candidate.cost() * 2e-10  # a cost-proportional fake: ~1 s/step for a 128^3 nnU-Net

    return step_seconds


def test_budget_aware_choice_prefers_faster_candidates_when_time_is_short() -> None:
    fp = _fingerprint([(1.0, 1.0, 1.0)] * 20, shape=(8, 12, 12))
    for case in fp.cases:
        case.shape = [96, 96, 96]
    cpu = Budget(device="cpu", cpu_cores=2)
    calls: list[Candidate] = []
    roomy = plan(fp, Budget(device="cpu", time_budget_s=1e6), step_timer=_timer(calls))  # type: ignore[arg-type]
    short_calls: list[Candidate] = []
    short = plan(fp, cpu.model_copy(update={"time_budget_s": 1200.0}), step_timer=_timer(short_calls))  # type: ignore[arg-type]
    roomy_cost = math.prod(roomy.patch_size) * roomy.network.params["features_base"] * roomy.batch_size
    short_cost = math.prod(short.patch_size) * short.network.params["features_base"] * short.batch_size
    assert roomy.network.params["features_base"] == 32
    assert short_cost < roomy_cost
    summary = [r for r in short.reasons if r.startswith("budget: ") and " timings (" in r]
    assert len(summary) == 1 and f"{len(short_calls)} timings" in summary[0] and len(short_calls) >= 2
    assert any(r.startswith("budget: chose") for r in short.reasons)
    # the chosen candidate's step time and the steps that fit are recorded for the trainer
    assert short.training.step_seconds is not None and short.training.time_budget_s == 1200.0
    assert short.training.steps is not None and short.training.steps > 0
    assert f"in {short.training.steps} steps" in " ".join(short.reasons)
    assert plan(fp, cpu).training.steps is None  # no time budget: no step count


def test_time_budget_without_a_timer_is_an_error() -> None:
    fp = _fingerprint([(1.0, 1.0, 1.0)] * 2)
    with pytest.raises(ConfigError, match="no step_timer"):
        plan(fp, Budget(device="cpu", time_budget_s=60.0))


def test_measure_step_seconds_times_real_steps_with_the_given_clock() -> None:
    from medseg.nets import network_entry
    from medseg.training.step_timing import measure_step_seconds

    ticks = iter([0.0, 0.5, 1.0, 1.25, 2.0, 2.75])
    candidate = Candidate.build(network_entry("unet"), 8, [8, 8, 8], 2, [1.0, 1.0, 1.0])
    seconds = measure_step_seconds(candidate, 1, 3, steps=3, clock=lambda: next(ticks))
    assert seconds == 0.5  # median of the three measured steps 0.5, 0.25, 0.75


def test_budget_aware_plan_with_real_step_timer() -> None:
    from medseg.training.step_timing import step_timer_for

    fp = _fingerprint([(1.0, 1.0, 1.0)] * 4, shape=(8, 12, 12))
    p = plan(
        fp,
        Budget(device="cpu", time_budget_s=600.0),
        step_timer=step_timer_for(1, 2, steps=1),
    )
    chosen = [r for r in p.reasons if r.startswith("budget: chose")]
    assert len(chosen) == 1 and f"features {p.network.params['features_base']}," in chosen[0]
    assert all(s % d == 0 for s, d in zip(p.patch_size, pooling_divisors(p.patch_size, p.target_spacing)))


def test_two_dimensional_plan_of_volumes_on_request() -> None:
    fp = _fingerprint([(3.0, 0.5, 0.5)] * 2, shape=(8, 64, 48))
    p = plan(fp, overrides={"spatial_dims": 2})
    assert p.spatial_dims == 2 and p.target_spacing == [0.5, 0.5] and len(p.patch_size) == 2
    assert p.resampling.separate_z_axis is None
    assert p.patch_size == [64, 48]  # the median slice, already divisible by its divisors [8, 8]
    with pytest.raises(
        ConfigError, match=r"^plan override 'spatial_dims' = 4 is invalid: .*valid choices: 2, 3$"
    ):
        plan(fp, overrides={"spatial_dims": 4})


def test_target_spacing_override_steers_the_patch() -> None:
    fp = _fingerprint([(1.0, 1.0, 1.0)] * 2, shape=(32, 32, 32))
    p = plan(fp, overrides={"target_spacing": [2.0, 2.0, 2.0]})
    assert p.target_spacing == [2.0, 2.0, 2.0]
    assert p.patch_size == [16, 16, 16]  # the 32^3 mm cases are 16^3 voxels at 2 mm
