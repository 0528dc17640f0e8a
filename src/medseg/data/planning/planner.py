"""``plan(fingerprint, budget)``: every preprocessing, network and training-shape decision, with reasons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import PositiveFloat, PositiveInt, TypeAdapter, ValidationError

from medseg.config.plan import NetworkSpec, Plan, ResamplingSpec, TrainingSpec
from medseg.core.errors import ConfigError
from medseg.core.topology import pooling_divisors
from medseg.data.inspection.fingerprint import Fingerprint
from medseg.data.planning import normalization as norm_rules
from medseg.data.planning import spacing as spacing_rules
from medseg.data.planning.budget import Budget, Candidate, StepTimer
from medseg.data.planning.budget_aware import choose_candidate, enumerate_candidates, median_voxels
from medseg.data.planning.overrides import apply_overrides, override_error
from medseg.data.planning.patch import MAX_FEATURES, batch_size_for, mist_patch_size, nnunet_patch_size

DEFAULT_FEATURES_BASE = 32
PatchRule = Literal["nnunet", "mist"]


def _early(overrides: Mapping[str, Any], key: str, kind: Any, choices: str, length: int | None = None) -> Any:
    """An override that steers planning itself, validated now (``None`` when not given)."""
    if key not in overrides:
        return None
    value = overrides[key]
    try:
        checked = TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        raise override_error(key, value, exc.errors()[0]["msg"], choices) from None
    if length is not None and len(checked) != length:
        raise override_error(key, value, f"needs {length} values", choices)
    return checked


def _labels(fingerprint: Fingerprint) -> dict[str, int]:
    out: dict[str, int] = {}
    for value, name in sorted(fingerprint.labels.items()):
        out[name if name not in out else f"{name}_{value}"] = value
    return out


def _network(candidate: Candidate) -> NetworkSpec:
    dims = len(candidate.patch_size)
    return NetworkSpec(
        name="unet",
        params={
            "features_base": candidate.features_base,
            "max_features": MAX_FEATURES[dims],
            "conv_kernels": candidate.conv_kernels,
            "pool_strides": candidate.pool_strides,
        },
    )


def plan(
    fingerprint: Fingerprint,
    budget: Budget | None = None,
    overrides: Mapping[str, Any] | None = None,
    step_timer: StepTimer | None = None,
    patch_rule: PatchRule = "nnunet",
) -> Plan:
    """Plan preprocessing, patch, batch and network for ``fingerprint`` on the machine ``budget``.

    ``budget=None`` means an 8 GB CUDA GPU and no time limit (nnU-Net's reference). With
    ``budget.time_budget_s``, ``step_timer(candidate) -> seconds per step`` is required and the
    candidate expected to train best within the time is chosen (see
    :mod:`medseg.data.planning.budget_aware`). ``overrides`` (Plan field -> value, dotted keys for
    nested fields) win over every rule; ``spatial_dims: 2`` on 3D data plans slices along axis 0.
    """
    budget = budget or Budget()
    overrides = dict(overrides or {})
    reasons: list[str] = []
    forced_dims = _early(overrides, "spatial_dims", Literal[2, 3], "2, 3")
    dims: Literal[2, 3] = 2 if fingerprint.spatial_dims == 2 or forced_dims == 2 else 3
    if forced_dims == 3 and fingerprint.spatial_dims == 2:
        raise override_error("spatial_dims", 3, "the data are 2D", "2")
    full_spacing = spacing_rules.target_spacing(fingerprint, reasons)
    separate = spacing_rules.separate_z_axis(fingerprint.summary.spacing.median, reasons)
    slicing = dims == 2 and fingerprint.spatial_dims == 3
    wanted = _early(overrides, "target_spacing", list[PositiveFloat], f"{dims} positive numbers", dims)
    if wanted is not None:
        full_spacing = [full_spacing[0], *wanted] if slicing else list(wanted)
        reasons.append(f"target_spacing: {list(wanted)} (override)")
    shapes = fingerprint.resampled_shapes(full_spacing)
    spacing = [float(v) for v in full_spacing]
    if slicing:
        spacing, shapes, separate = spacing[1:], shapes[:, 1:], None
        reasons.append("spatial_dims: 2 by request; slices along array axis 0, in-plane spacing only")
    else:
        reasons.append(f"spatial_dims: {dims} (the data are {fingerprint.spatial_dims}D)")
    median_shape = np.median(shapes, axis=0)
    dataset_voxels = float(np.prod(shapes, axis=1).sum())
    features = (
        _early(overrides, "network.params.features_base", PositiveInt, "a positive integer")
        or DEFAULT_FEATURES_BASE
    )
    patch = _early(overrides, "patch_size", list[PositiveInt], f"{dims} positive integers", dims)
    if patch is not None:
        divisors = pooling_divisors(patch, spacing, None)
        if any(p % d for p, d in zip(patch, divisors)):
            raise override_error(
                "patch_size",
                overrides["patch_size"],
                "not divisible by the U-Net's pooling per axis",
                f"multiples of {list(divisors)} per axis",
            )
        reasons.append(f"patch_size: {patch} (override)")
    elif patch_rule == "mist":
        gb = budget.memory_bytes / 1024**3
        patch = mist_patch_size(median_shape, spacing, gb, 2, None)
        reasons.append(
            f"patch_size: {patch} by MIST's voxel budget for {gb:.1f} GB, median shape {median_shape.tolist()}"
        )
    else:
        patch = nnunet_patch_size(
            median_shape, spacing, budget.memory_bytes, features, budget.bytes_per_value, 2, None
        )
        reasons.append(
            f"patch_size: {patch} by nnU-Net's rule (median shape {median_shape.tolist()}, "
            f"{budget.memory_bytes / 1024**3:.1f} GB for activations)"
        )
    batch = _early(overrides, "batch_size", PositiveInt, "a positive integer") or batch_size_for(
        patch,
        spacing,
        budget.memory_bytes,
        features,
        budget.bytes_per_value,
        dataset_voxels,
        None,
    )
    chosen = Candidate.build(features, patch, batch, spacing, None)
    training = TrainingSpec()
    if budget.time_budget_s is not None:
        if step_timer is None:
            raise ConfigError(
                "plan: budget.time_budget_s is set but no step_timer was given to measure steps"
            )
        candidates = enumerate_candidates(patch, spacing, None, [2, batch])
        pinned = {
            k: overrides[k]
            for k in ("network.params.features_base", "batch_size", "patch_size")
            if k in overrides
        }
        candidates = [
            c
            for c in candidates
            if c.features_base == pinned.get("network.params.features_base", c.features_base)
            and c.batch_size == pinned.get("batch_size", c.batch_size)
            and c.patch_size == list(pinned.get("patch_size", c.patch_size))
        ] or [chosen]
        measured = choose_candidate(
            candidates, budget, step_timer, len(fingerprint.cases), median_voxels(shapes), reasons
        )
        chosen = measured.candidate
        training = TrainingSpec(step_seconds=measured.seconds_per_step, steps=measured.steps_possible,
                                time_budget_s=budget.time_budget_s)
    else:
        reasons.append(f"batch_size: {batch} (memory, at most 5% of the dataset's voxels per step, >= 2)")
        if budget.device == "cpu":
            reasons.append(
                "budget: CPU without time_budget_s; the network is not sized for compute and may be slow"
            )
    if fingerprint.summary.orientations and len(fingerprint.summary.orientations) > 1:
        reasons.append(f"orientation: mixed {fingerprint.summary.orientations}; consider the 'RAS' override")
    base = Plan(
        spatial_dims=dims,
        channel_names=list(fingerprint.channel_names),
        labels=_labels(fingerprint),
        target_spacing=spacing,
        orientation=None,
        crop_to_nonzero=norm_rules.crop_to_nonzero(fingerprint, reasons),
        normalization=norm_rules.normalization(fingerprint, reasons),
        resampling=ResamplingSpec(separate_z_axis=separate),
        patch_size=chosen.patch_size,
        batch_size=chosen.batch_size,
        network=_network(chosen),
        training=training,
        reasons=reasons,
    )
    if overrides:
        reasons.append(f"overrides applied: {sorted(overrides)}")
    return apply_overrides(base.model_copy(update={"reasons": reasons}), overrides)
