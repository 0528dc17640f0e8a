"""The config document: one versioned file (JSON or YAML) with MIST-like sections.

The sections ``spatial_config``, ``preprocessing``, ``model`` and part of ``training`` hold exactly
the facts of the :class:`~medseg.config.plan.Plan`; :mod:`medseg.config.convert` is the one pair of
functions that turns one into the other. Plan-held fields left ``None`` are decided by ``analyze``;
a value set by hand is passed to the planner as an override and so wins over every planning rule.
The other fields (loss, optimiser, folds, inference, evaluation, ...) are not part of the Plan.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator

from medseg.config.plan import NormalizationSpec, RegionSpec, ResamplingSpec
from medseg.core.vocab import (
    WRITE_SUFFIXES,
    AmpMode,
    BlendMode,
    CheckpointKind,
    DatasetFormat,
    DeviceName,
    FrontendName,
    Layout,
    NonFinitePolicy,
    OptimizerName,
    ScheduleName,
    ScoreName,
)

CONFIG_VERSION: Literal[1] = 1


class _Section(BaseModel):
    """Unknown keys are errors; assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatasetInfo(_Section):
    """Where the data is and what it holds (channels, labels and regions are filled in by ``analyze``).

    ``labels`` maps names to the label *values of the data* (``{"background": 0, "vessel": 255}``);
    setting it to a subset of the values present, with ``unlisted_labels: background``, trains only
    those classes. ``regions`` (nnU-Net's region format) switches on region-based training.
    ``nonfinite``: what reading does with NaN/inf image voxels, for training data and images to
    predict alike: ``error`` (refuse the file, naming it and the count) or ``minimum`` (replace them
    with the channel's smallest finite value).
    """

    name: str = "dataset"
    source: str | None = None
    format: DatasetFormat = "auto"
    channel_names: list[str] | None = None
    labels: dict[str, int] | None = None
    unlisted_labels: Literal["error", "background"] | None = None
    regions: list[RegionSpec] | None = None
    nonfinite: NonFinitePolicy = "error"


class SpatialConfig(_Section):
    """Geometry of the network input: dimensionality, voxel spacing, orientation, patch size."""

    spatial_dims: Literal[2, 3] | None = None
    target_spacing: list[PositiveFloat] | None = None
    orientation: str | None = None
    patch_size: list[PositiveInt] | None = None
    resampling: ResamplingSpec | None = None


class Preprocessing(_Section):
    """Cropping and per-channel normalisation; ``workers`` = cases processed in parallel."""

    crop_to_nonzero: bool | None = None
    normalization: list[NormalizationSpec] | None = None
    workers: int = Field(default=2, ge=0)


class Model(_Section):
    """The network: a registry name, its keyword arguments, deep supervision and the output activation.

    All four are Plan facts; ``null`` = decided by ``analyze`` (deep supervision on where the network
    has it; softmax unless there are regions).
    """

    name: str | None = None
    params: dict[str, Any] | None = None
    deep_supervision: bool | None = None
    activation: Literal["softmax", "sigmoid"] | None = None


class Curriculum(_Section):
    """The 3-stage curriculum of the MSD framework (seed 003), in shares of the run's epochs.

    Stage 1 (``foreground``): every patch holds foreground. Stage 2 (``rare_class``): patches forced
    to a class chosen by inverse class frequency. Stage 3 (the rest): online hard-example mining —
    every ``ohem_refresh`` epochs, ``ohem_pool`` x (patches per epoch) candidate patches are scored
    with the current network and the hardest ``ohem_keep`` share is trained on.
    """

    foreground: float = Field(default=0.3, ge=0.0, le=1.0)
    rare_class: float = Field(default=0.3, ge=0.0, le=1.0)
    ohem_pool: int = Field(default=4, ge=1)
    ohem_keep: float = Field(default=0.25, gt=0.0, le=1.0)
    ohem_refresh: int = Field(default=5, ge=1)

    @field_validator("rare_class")
    @classmethod
    def _shares_fit(cls, value: float, info: ValidationInfo) -> float:
        first = info.data.get("foreground", 0.3)
        if first + value > 1.0 + 1e-9:
            raise ValueError(
                f"foreground ({first}) + rare_class ({value}) must not exceed 1 (the rest is OHEM)"
            )
        return value


class Training(_Section):
    """Loss, optimiser, schedule, sampling, augmentation, folds and hardware.

    ``loss`` is a registered loss (docs/losses.md) with ``loss_params``; ``composite_weighting`` is the
    alpha schedule of a composite (region + distance/topology) loss: null, a name or ``{name, params}``.
    ``val_max_share``: validation is held to this share of the training time (validating every k-th
    epoch; 1.0 = every epoch). ``early_stopping``: stop after that many validations without a better
    score. ``deterministic``: deterministic kernels, so a resumed run is bit-identical on the CPU.
    ``curriculum``: the 3-stage curriculum (:class:`Curriculum`; null = off). ``label_probabilities``
    (label value -> weight) chooses which class a foreground-forced patch holds;
    ``rare_class_oversampling`` chooses it by inverse class frequency instead.
    ``pretrained_weights``: start from a medseg checkpoint, an experiment folder or a plain state_dict
    (layer by layer, :mod:`medseg.training.transfer`), with ``pretrained_channels`` for another number
    of input channels; ``freeze_encoder_epochs``: keep the encoder fixed for that many epochs.
    ``layout``: the training network's memory layout: ``channels_last`` (instance norms as their equal
    group norms, :mod:`medseg.inference.fast_layout`), ``plain``, or ``auto`` (the measured fastest on
    the device, docs/benchmarks.md "Training steps"). ``cpu_threads``: torch threads of the training
    process on the CPU: ``auto`` = the faster of every core and one, measured on the run's first steps
    (:mod:`medseg.training.callbacks.cpu_threads`; one wins beside other busy work), or a number.

    ``batch_size``, ``foreground_oversampling``, ``augmentation``, ``step_seconds``,
    ``planned_steps`` and ``time_budget_s`` are Plan facts; the rest configures the trainer.
    ``epochs`` x ``steps_per_epoch`` optimiser steps are run per fold (``epochs: null`` = the
    planned steps, or 50 epochs without a plan-time budget).
    ``budget_reserve_validations``: time kept back from ``time_budget_s`` at the end of the loop, as
    a multiple of the measured validation time (``run_fold`` sets it to cover predicting the
    validation cases with mirror TTA).
    """

    batch_size: int | None = Field(default=None, ge=1)
    foreground_oversampling: float | None = Field(default=None, ge=0.0, le=1.0)
    augmentation: dict[str, Any] | None = None
    loss: str = "dice_ce"
    loss_params: dict[str, Any] = Field(default_factory=dict)
    composite_weighting: str | dict[str, Any] | None = None
    optimizer: OptimizerName = "sgd"
    lr: float | None = Field(default=None, gt=0)
    weight_decay: float | None = Field(default=None, ge=0)
    lr_scheduler: ScheduleName = "poly"
    warmup_epochs: int = Field(default=0, ge=0)
    epochs: int | None = Field(default=None, ge=1)
    steps_per_epoch: int = Field(default=50, ge=1)
    grad_clip: float | None = Field(default=12.0, gt=0)
    amp: AmpMode = "auto"
    layout: Layout = "auto"
    ema: bool = False
    ema_decay: float = Field(default=0.999, gt=0.0, lt=1.0)
    score: ScoreName = "dice"
    val_max_share: float = Field(default=0.15, gt=0.0, le=1.0)
    early_stopping: int | None = Field(default=None, ge=1)
    curriculum: Curriculum | None = None
    pretrained_weights: str | None = None
    pretrained_channels: Literal["average", "first", "repeat"] = "average"
    freeze_encoder_epochs: int = Field(default=0, ge=0)
    label_probabilities: dict[int, float] | None = None
    rare_class_oversampling: bool = False
    deterministic: bool = False
    n_folds: int = Field(default=5, ge=2)
    folds: list[int] | Literal["all"] = Field(default_factory=lambda: [0])
    seed: int = 0
    device: DeviceName = "auto"
    workers: int = Field(default=2, ge=0)
    cpu_threads: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    step_seconds: float | None = Field(default=None, gt=0)
    planned_steps: int | None = Field(default=None, ge=1)
    time_budget_s: float | None = Field(default=None, gt=0)
    budget_reserve_validations: float = Field(default=0.0, ge=0.0)

    @field_validator("folds")
    @classmethod
    def _folds_in_range(
        cls, folds: list[int] | Literal["all"], info: ValidationInfo
    ) -> list[int] | Literal["all"]:
        n_folds = info.data.get("n_folds", 5)
        if isinstance(folds, list) and any(not 0 <= k < n_folds for k in folds):
            raise ValueError(f"valid choices: fold numbers 0..{n_folds - 1} (n_folds is {n_folds}) or 'all'")
        return folds


class Inference(_Section):
    """Sliding window, test-time augmentation, ensembling and postprocessing.

    ``ensemble_folds``: the trained folds of a work folder that ``predict``/``ensemble -w WORK``
    combine (softmax averaged); ``mirror_axes: null`` mirrors every spatial axis when ``tta`` is on;
    ``output_format``: the predictions' file format (``null``: like the input, PNG for 2D rasters).
    """

    checkpoint: CheckpointKind = "best"
    overlap: float = Field(default=0.5, ge=0.0, lt=1.0)
    window_batch_size: int = Field(default=4, ge=1)
    blend: BlendMode = "gaussian"
    tta: bool = True
    mirror_axes: list[int] | None = None
    ensemble_folds: list[int] | Literal["all"] = "all"
    postprocessing: str | None = None
    output_format: str | None = None

    @field_validator("output_format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        formats = WRITE_SUFFIXES
        if value is None:
            return None
        suffix = value if value.startswith(".") else f".{value}"
        if suffix not in formats:
            raise ValueError(f"valid choices: null (like the input) or one of {', '.join(formats)}")
        return suffix


class Evaluation(_Section):
    """Metrics by registry name, parameters after ``@`` (``nsd@2``: surface Dice at 2 mm), and regions
    as unions of labels (``null`` = one region per foreground label)."""

    metrics: list[str] = Field(default_factory=lambda: ["dice"], min_length=1)
    regions: dict[str, list[int]] | None = None
    workers: int = Field(default=0, ge=0)


class Tracking(_Section):
    """Experiment tracking (docs/tracking.md): the frontends a training run reports to, and where.

    Secrets are never config keys: tokens and passwords come from environment variables only
    (``WANDB_API_KEY``, ``NOTION_TOKEN``, ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``/``_TOKEN``).
    Paths left ``null`` go under ``WORK/tracking/``; ``experiment`` ``null`` = ``dataset_info.name``.
    """

    frontends: list[FrontendName] = Field(default_factory=list)
    experiment: str | None = None
    mlflow_uri: str | None = None
    wandb_project: str | None = None
    wandb_entity: str | None = None
    wandb_mode: Literal["online", "offline"] | None = None
    tensorboard_dir: str | None = None
    local_file: str | None = None
    notion_database: str | None = None
    log_checkpoint: bool = False
    plots_every: int | None = Field(default=None, ge=1)

    @field_validator("frontends")
    @classmethod
    def _no_repeats(cls, frontends: list[str]) -> list[str]:
        if len(set(frontends)) != len(frontends):
            raise ValueError("each frontend at most once: mlflow, tensorboard, wandb, notion, local")
        return frontends

    @field_validator("mlflow_uri")
    @classmethod
    def _no_credentials(cls, uri: str | None) -> str | None:
        if uri is not None and "@" in uri.split("://", 1)[-1].split("/", 1)[0]:
            raise ValueError(
                "valid form: a URI without user:password@ (credentials go in the environment "
                "variables MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
            )
        return uri


class Config(_Section):
    """The whole document; ``notes`` are the planner's reasons for its decisions."""

    version: Literal[1] = CONFIG_VERSION
    dataset_info: DatasetInfo = Field(default_factory=DatasetInfo)
    spatial_config: SpatialConfig = Field(default_factory=SpatialConfig)
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
    model: Model = Field(default_factory=Model)
    training: Training = Field(default_factory=Training)
    inference: Inference = Field(default_factory=Inference)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    tracking: Tracking = Field(default_factory=Tracking)
    notes: list[str] = Field(default_factory=list)
