"""The Plan: every decision that must match between training and inference.

A :class:`Plan` is produced by :func:`medseg.data.planning.plan` from a dataset fingerprint (or by
:func:`medseg.config.convert.config_to_plan` from a config document) and is written into every
checkpoint. All spatial lists are in NumPy array-axis order ``(z, y, x)`` (or ``(y, x)`` for 2D plans).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from medseg.core.atomic import write_text_atomic
from medseg.core.errors import ConfigError
from medseg.core.vocab import LabelResampling, NormalizationScheme

#: 2: the Plan describes the whole model (network head, deep supervision, label values, regions)
PLAN_VERSION = 2


class NormalizationSpec(BaseModel):
    """How one image channel is normalised.

    ``ct``: clip to ``[clip_low, clip_high]`` then ``(x - mean) / std`` with dataset-level values.
    ``zscore``: per-image mean/std over the whole image. ``zscore_nonzero``: per-image mean/std
    inside the nonzero mask, zero outside. ``minmax``: per-image rescale to ``[0, 1]``.
    ``none``: leave intensities unchanged.
    """

    model_config = ConfigDict(extra="forbid")

    scheme: NormalizationScheme
    clip_low: float | None = None
    clip_high: float | None = None
    mean: float | None = None
    std: float | None = None

    @model_validator(mode="after")
    def _ct_needs_statistics(self) -> NormalizationSpec:
        if self.scheme == "ct" and None in (self.clip_low, self.clip_high, self.mean, self.std):
            raise ValueError("scheme 'ct' needs clip_low, clip_high, mean and std")
        if self.std is not None and self.std <= 0:
            raise ValueError(f"std must be positive, got {self.std}")
        return self


class ResamplingSpec(BaseModel):
    """How images and labels are resampled to the target spacing.

    ``separate_z_axis`` is the array axis resampled on its own with ``separate_z_order`` (for
    strongly anisotropic data, nnU-Net style); ``None`` resamples all axes together.
    """

    model_config = ConfigDict(extra="forbid")

    image_order: int = Field(default=3, ge=0, le=5)
    label_mode: LabelResampling = "linear_per_label"
    separate_z_axis: int | None = None
    separate_z_order: int = Field(default=0, ge=0, le=5)


class NetworkSpec(BaseModel):
    """The whole model: a registry name, its keyword arguments, deep supervision and the output head.

    ``params`` are valid for *that* network (the registry checks them); ``activation`` is the head:
    ``softmax`` over one output per label, or ``sigmoid`` (one output for a binary task, or one per
    region when the Plan has ``regions``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "unet"
    params: dict[str, Any] = Field(default_factory=dict)
    deep_supervision: bool = False
    activation: Literal["softmax", "sigmoid"] = "softmax"


class RegionSpec(BaseModel):
    """A region: a union of label values trained as one sigmoid output (nnU-Net/MIST region training).

    ``paint`` is the label value a voxel of this region gets in the predicted label map. Regions are
    painted in order, so a nested region listed after its parent wins (BraTS: whole, core, enhancing).
    ``null`` follows nnU-Net's rule: the region's smallest label that no later region covers.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    labels: list[int] = Field(min_length=1)
    paint: int | None = None


class TrainingSpec(BaseModel):
    """How long to train: set by the budget-aware planner from a measured step time.

    ``steps`` is the number of optimiser steps that fit in ``time_budget_s`` (after planning and a
    share for validation/loading); ``None`` when the plan was made without a time budget.
    """

    model_config = ConfigDict(extra="forbid")

    step_seconds: float | None = Field(default=None, gt=0)
    steps: int | None = Field(default=None, ge=1)
    time_budget_s: float | None = Field(default=None, gt=0)


class Plan(BaseModel):
    """Everything preprocessing, training and inference must agree on (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    version: int = PLAN_VERSION
    spatial_dims: Literal[2, 3]
    channel_names: list[str]
    labels: dict[str, int]
    unlisted_labels: Literal["error", "background"] = "error"
    regions: list[RegionSpec] | None = None
    target_spacing: list[float]
    orientation: str | None = None
    crop_to_nonzero: bool = False
    normalization: list[NormalizationSpec]
    resampling: ResamplingSpec = Field(default_factory=ResamplingSpec)
    patch_size: list[int]
    batch_size: int = Field(ge=1)
    foreground_oversampling: float = Field(default=0.33, ge=0.0, le=1.0)
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    augmentation: dict[str, Any] = Field(default_factory=dict)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        if self.version != PLAN_VERSION:
            raise ValueError(
                f"plan version {self.version}, this medseg reads version {PLAN_VERSION}; re-run "
                "`medseg analyze` (or retrain) to make a new plan"
            )
        dims = self.spatial_dims
        if len(self.target_spacing) != dims or any(s <= 0 for s in self.target_spacing):
            raise ValueError(f"target_spacing {self.target_spacing} must be {dims} positive numbers")
        if len(self.patch_size) != dims or any(p < 1 for p in self.patch_size):
            raise ValueError(f"patch_size {self.patch_size} must be {dims} positive integers")
        if len(self.normalization) != len(self.channel_names):
            raise ValueError(
                f"{len(self.normalization)} normalization entries for {len(self.channel_names)} channels"
            )
        sep = self.resampling.separate_z_axis
        if sep is not None and not 0 <= sep < dims:
            raise ValueError(f"resampling.separate_z_axis {sep} is not an axis of a {dims}D plan")
        values = list(self.labels.values())
        if len(set(values)) != len(values) or 0 not in values:
            raise ValueError(
                f"labels {self.labels} must map names to distinct values, 0 (background) among them"
            )
        if self.regions is not None:
            if self.network.activation != "sigmoid":
                raise ValueError("regions need network.activation 'sigmoid' (one sigmoid output per region)")
            if not self.regions or len({r.name for r in self.regions}) != len(self.regions):
                raise ValueError("regions must be a non-empty list with distinct names")
            for i, region in enumerate(self.regions):
                unknown = sorted(set(region.labels) - set(values))
                if unknown or 0 in region.labels:
                    raise ValueError(
                        f"region '{region.name}': labels {region.labels} must be foreground values "
                        f"of labels ({sorted(values)})"
                    )
                if region.paint is None:
                    later = {v for other in self.regions[i + 1 :] for v in other.labels}
                    own = sorted(set(region.labels) - later)
                    region.paint = own[0] if own else min(region.labels)
        elif self.network.activation == "sigmoid" and len(values) != 2:
            raise ValueError("network.activation 'sigmoid' without regions needs a binary task (2 labels)")
        return self

    @property
    def label_values(self) -> list[int]:
        """The label values in the data, in training-index order: index ``i`` stands for ``label_values[i]``."""
        return sorted(self.labels.values())

    @property
    def num_classes(self) -> int:
        """Number of classes, background included (training indices ``0 .. num_classes - 1``)."""
        return len(self.labels)

    @property
    def class_names(self) -> dict[int, str]:
        """Training index -> name, for the foreground classes (or the regions, when there are regions)."""
        if self.regions is not None:
            return {i: r.name for i, r in enumerate(self.regions)}
        names = {v: k for k, v in self.labels.items()}
        return {i: names[v] for i, v in enumerate(self.label_values) if v != 0}

    @property
    def out_channels(self) -> int:
        """Network outputs: one per region, one for a sigmoid binary task, else one per class."""
        if self.regions is not None:
            return len(self.regions)
        return 1 if self.network.activation == "sigmoid" else self.num_classes

    def region_indices(self) -> list[list[int]]:
        """For each region, the training indices of its labels."""
        index = {v: i for i, v in enumerate(self.label_values)}
        return [[index[v] for v in region.labels] for region in self.regions or []]

    def save(self, path: str | Path) -> None:
        """Write the plan as JSON, atomically (temporary file in the same folder + rename)."""
        write_text_atomic(path, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """Read a plan written by :meth:`save`; a bad file raises :class:`ConfigError` naming it."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read plan ({exc.strerror or exc})") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: not a UTF-8 text file (a plan is JSON)") from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "<root>"
            raise ConfigError(f"{source}: invalid plan at {where}: {first['msg']}") from exc
