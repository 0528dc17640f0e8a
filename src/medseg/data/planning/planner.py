"""``plan(fingerprint, budget)``: every preprocessing, network and training-shape decision, with reasons.

The network is any registered one (``network.name`` override, default the dynamic U-Net): the planner
asks the registry for its divisibility rule, extra patch rules, deep-supervision support and the
parameters it takes for a patch, spacing and width, so the Plan it writes is valid for that network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import PositiveFloat, PositiveInt, TypeAdapter, ValidationError

from medseg.config.plan import NetworkSpec, Plan, ResamplingSpec, TrainingSpec
from medseg.core.errors import ConfigError
from medseg.data.inspection.fingerprint import Fingerprint
from medseg.data.planning import normalization as norm_rules
from medseg.data.planning import spacing as spacing_rules
from medseg.data.planning.budget import Budget
from medseg.data.planning.budget_aware import choose_candidate
from medseg.data.planning.candidates import Candidate, enumerate_candidates
from medseg.data.planning.labels import plan_labels
from medseg.data.planning.overrides import apply_overrides, override_error
from medseg.data.planning.patch import batch_size_for, mist_patch_size, nnunet_patch_size
from medseg.data.planning.quality import DataShape
from medseg.data.planning.timing import StepTimer
from medseg.nets.registry import NetworkEntry, check_params, check_patch, fit_patch, network_entry

DEFAULT_FEATURES_BASE = 32
DEFAULT_NETWORK = "unet"
#: 3D data with a median extent of at most this many voxels on an axis, or this anisotropy, also get
#: slice-wise (2D) candidates when planning for a time budget
THIN_AXIS_VOXELS = 20
ANISOTROPY_FOR_2D = 3.0
PatchRule = Literal["nnunet", "mist"]
#: override keys the planner itself consumes (validated as it reads them)
_CONSUMED = (
    "labels",
    "unlisted_labels",
    "regions",
    "network.activation",
    "network.name",
    "network.deep_supervision",
)


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


def _object_mm(fingerprint: Fingerprint, spacing: list[float], shapes: np.ndarray) -> list[float]:
    roi = fingerprint.summary.foreground_roi_mm
    if roi is None:
        return [float(v) for v in np.median(shapes, axis=0) * np.asarray(spacing)]
    return [float(v) for v in roi]


def _deep_supervision(entry: NetworkEntry, overrides: Mapping[str, Any], reasons: list[str]) -> bool:
    wanted = _early(overrides, "network.deep_supervision", bool, "true, false")
    if wanted and not entry.deep_supervision:
        raise override_error(
            "network.deep_supervision", True, f"network '{entry.name}' has no deep supervision", "false"
        )
    if wanted is None:
        wanted = entry.deep_supervision
        reasons.append(
            f"deep_supervision: {'on' if wanted else 'off'} "
            f"({entry.name} {'has' if wanted else 'has no'} deep-supervision heads)"
        )
    return bool(wanted)


def _user_params(overrides: Mapping[str, Any], entry: NetworkEntry) -> dict[str, Any]:
    prefix = "network.params."
    params = {k[len(prefix) :]: v for k, v in overrides.items() if k.startswith(prefix)}
    check_params(entry.name, params)
    return params


def _patch_override(
    overrides: Mapping[str, Any], entry: NetworkEntry, dims: int, spacing: list[float], params: dict[str, Any]
) -> list[int] | None:
    patch = _early(overrides, "patch_size", list[PositiveInt], f"{dims} positive integers", dims)
    if patch is None:
        return None
    try:
        check_patch(entry.name, patch, spacing, **params)
    except ConfigError as exc:
        near = fit_patch(entry.name, patch, spacing, round_up=True, **params)
        raise override_error(
            "patch_size",
            overrides["patch_size"],
            str(exc).split(": ", 1)[-1],
            f"e.g. {near} for network '{entry.name}'",
        ) from None
    return list(patch)


def plan(
    fingerprint: Fingerprint,
    budget: Budget | None = None,
    overrides: Mapping[str, Any] | None = None,
    step_timer: StepTimer | None = None,
    patch_rule: PatchRule = "nnunet",
) -> Plan:
    """Plan preprocessing, network, patch and batch for ``fingerprint`` on the machine ``budget``.

    ``budget=None`` means an 8 GB CUDA GPU and no time limit (nnU-Net's reference). With
    ``budget.time_budget_s``, ``step_timer(candidate) -> seconds per step`` is required and the
    candidate with the best expected Dice within the time is chosen (see
    :mod:`medseg.data.planning.budget_aware`). ``overrides`` (Plan field -> value, dotted keys for
    nested fields) win over every rule; ``spatial_dims: 2`` on 3D data plans slices along axis 0.
    """
    budget = budget or Budget()
    overrides = dict(overrides or {})
    reasons: list[str] = []
    name = _early(overrides, "network.name", str, "a registered network") or DEFAULT_NETWORK
    entry = network_entry(name)
    reasons.append(f"network: {name}" + (" (override)" if "network.name" in overrides else " (default)"))
    forced_dims = _early(overrides, "spatial_dims", Literal[2, 3], "2, 3")
    if forced_dims == 3 and fingerprint.spatial_dims == 2:
        raise override_error("spatial_dims", 3, "the data are 2D", "2")
    full_spacing = spacing_rules.target_spacing(fingerprint, reasons)
    separate = spacing_rules.separate_z_axis(fingerprint.summary.spacing.median, reasons)
    slicing = forced_dims == 2 and fingerprint.spatial_dims == 3
    dims: Literal[2, 3] = 2 if fingerprint.spatial_dims == 2 or slicing else 3
    wanted_spacing = _early(
        overrides, "target_spacing", list[PositiveFloat], f"{dims} positive numbers", dims
    )
    if wanted_spacing is not None:
        full_spacing = [full_spacing[0], *wanted_spacing] if slicing else list(wanted_spacing)
        reasons.append(f"target_spacing: {list(wanted_spacing)} (override)")
    full_shapes = fingerprint.resampled_shapes(full_spacing)
    object_mm = _object_mm(fingerprint, full_spacing, full_shapes)
    spacing, shapes = [float(v) for v in full_spacing], full_shapes
    if slicing:
        spacing, shapes, separate = spacing[1:], shapes[:, 1:], None
        reasons.append("spatial_dims: 2 by request; slices along array axis 0, in-plane spacing only")
    else:
        reasons.append(f"spatial_dims: {dims} (the data are {fingerprint.spatial_dims}D)")
    if dims not in entry.spatial_dims:
        raise ConfigError(f"network '{name}' supports {entry.spatial_dims}D, the plan is {dims}D")
    label_side = plan_labels(fingerprint, overrides, reasons)
    deep_supervision = _deep_supervision(entry, overrides, reasons)
    user_params = _user_params(overrides, entry)
    features = int(user_params.get("features_base", DEFAULT_FEATURES_BASE))
    median_shape = np.median(shapes, axis=0)
    dataset_voxels = float(np.prod(shapes, axis=1).sum())
    patch = _patch_override(overrides, entry, dims, spacing, user_params)
    if patch is not None:
        reasons.append(f"patch_size: {patch} (override)")
    else:
        if patch_rule == "mist":
            gb = budget.memory_bytes / 1024**3
            raw = mist_patch_size(median_shape, spacing, gb, 2, None)
            reasons.append(
                f"patch_size: {raw} by MIST's voxel budget for {gb:.1f} GB, median shape "
                f"{median_shape.tolist()}"
            )
        else:
            raw = nnunet_patch_size(
                median_shape, spacing, budget.memory_bytes, features, budget.bytes_per_value
            )
            reasons.append(
                f"patch_size: {raw} by nnU-Net's rule (median shape {median_shape.tolist()}, "
                f"{budget.memory_bytes / 1024**3:.1f} GB for activations)"
            )
        patch = fit_patch(name, raw, spacing, round_up=True, **user_params)
        if patch != raw:
            reasons.append(f"patch_size: {patch} (rounded to what {name} accepts)")
    batch = _early(overrides, "batch_size", PositiveInt, "a positive integer") or batch_size_for(
        patch, spacing, budget.memory_bytes, features, budget.bytes_per_value, dataset_voxels, None
    )
    chosen = Candidate.build(entry, features, patch, batch, spacing, slices=slicing)
    training = TrainingSpec()
    if budget.time_budget_s is not None:
        chosen, training = _budgeted(
            fingerprint,
            budget,
            step_timer,
            entry,
            chosen,
            overrides,
            user_params,
            full_spacing,
            full_shapes,
            object_mm,
            slicing,
            reasons,
        )
        if chosen.slices and not slicing:
            dims, spacing, separate = 2, chosen.spacing, None
            reasons.append("spatial_dims: 2 (slice-wise candidate chosen for thin/anisotropic data)")
    else:
        reasons.append(f"batch_size: {batch} (memory, at most 5% of the dataset's voxels per step, >= 2)")
        if budget.device == "cpu":
            reasons.append(
                "budget: CPU without time_budget_s; the network is not sized for compute and may be slow"
            )
    if fingerprint.summary.orientations and len(fingerprint.summary.orientations) > 1:
        reasons.append(f"orientation: mixed {fingerprint.summary.orientations}; consider the 'RAS' override")
    params = {**chosen.params, **user_params}
    remaining = {
        k: v for k, v in overrides.items() if k not in _CONSUMED and not k.startswith("network.params.")
    }
    base = Plan(
        spatial_dims=dims,
        channel_names=list(fingerprint.channel_names),
        labels=label_side["labels"],
        unlisted_labels=label_side["unlisted_labels"],
        regions=label_side["regions"],
        target_spacing=spacing,
        orientation=None,
        crop_to_nonzero=norm_rules.crop_to_nonzero(fingerprint, reasons),
        normalization=norm_rules.normalization(fingerprint, reasons),
        resampling=ResamplingSpec(separate_z_axis=separate),
        patch_size=chosen.patch_size,
        batch_size=chosen.batch_size,
        network=NetworkSpec(
            name=name, params=params, deep_supervision=deep_supervision, activation=label_side["activation"]
        ),
        training=training,
        reasons=reasons,
    )
    if overrides:
        reasons.append(f"overrides applied: {sorted(overrides)}")
    return apply_overrides(base.model_copy(update={"reasons": reasons}), remaining)


def _budgeted(
    fingerprint: Fingerprint,
    budget: Budget,
    step_timer: StepTimer | None,
    entry: NetworkEntry,
    chosen: Candidate,
    overrides: Mapping[str, Any],
    user_params: dict[str, Any],
    full_spacing: list[float],
    full_shapes: np.ndarray,
    object_mm: list[float],
    slicing: bool,
    reasons: list[str],
) -> tuple[Candidate, TrainingSpec]:
    """The budget-aware choice among widths, depths, patches, batches (and slice-wise 2D where it fits)."""
    if step_timer is None:
        raise ConfigError("plan: budget.time_budget_s is set but no step_timer was given to measure steps")
    assert budget.time_budget_s is not None
    spacing = chosen.spacing
    widths = [int(user_params["features_base"])] if "features_base" in user_params else None
    candidates = enumerate_candidates(
        entry,
        chosen.patch_size,
        spacing,
        [2, chosen.batch_size],
        **({"widths": widths} if widths else {}),
        slices=slicing,
    )
    if (
        fingerprint.spatial_dims == 3
        and not slicing
        and "spatial_dims" not in overrides
        and 2 in entry.spatial_dims
    ):
        median = np.median(full_shapes, axis=0)
        anisotropy = max(full_spacing) / min(full_spacing)
        if median.min() <= THIN_AXIS_VOXELS or anisotropy >= ANISOTROPY_FOR_2D:
            axis0 = full_spacing[0]
            in_plane = full_spacing[1:]
            slice_patch = nnunet_patch_size(
                median[1:], in_plane, budget.memory_bytes, DEFAULT_FEATURES_BASE, budget.bytes_per_value
            )
            extra = enumerate_candidates(
                entry,
                fit_patch(entry.name, slice_patch, in_plane, round_up=True),
                in_plane,
                [2, 8, 16],
                **({"widths": widths} if widths else {}),
                slices=True,
            )
            candidates += extra
            reasons.append(
                f"budget: {len(extra)} slice-wise (2D) candidates added: the data are thin "
                f"(median shape {median.tolist()}) or anisotropic ({anisotropy:.1f}x, axis 0 "
                f"{axis0:g} mm)"
            )
    pinned = {k: overrides[k] for k in ("batch_size", "patch_size") if k in overrides}
    candidates = [
        c
        for c in candidates
        if c.batch_size == pinned.get("batch_size", c.batch_size)
        and c.patch_size == list(pinned.get("patch_size", c.patch_size))
    ] or [chosen]
    num_cases = len(fingerprint.cases)
    full_voxels = float(np.median(np.prod(full_shapes, axis=1)))

    def data_for(cand: Candidate) -> DataShape:
        if cand.slices or len(cand.spacing) == len(full_spacing):
            return DataShape(num_cases, full_voxels, object_mm, list(full_spacing))
        return DataShape(
            num_cases,
            float(np.median(np.prod(full_shapes[:, 1:], axis=1))),
            object_mm[1:],
            list(full_spacing[1:]),
        )

    choice = choose_candidate(candidates, budget.time_budget_s, step_timer, data_for, reasons)
    training = TrainingSpec(
        step_seconds=choice.seconds_per_step, steps=max(1, choice.steps), time_budget_s=budget.time_budget_s
    )
    return choice.candidate, training
