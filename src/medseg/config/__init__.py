"""medseg.config: the typed config document and the Plan (one schema), load/save/validate."""

from medseg.config.convert import PLAN_FIELDS, config_to_plan, plan_overrides, plan_to_config, with_network
from medseg.config.document import apply_overrides, dump_config, load_config, parse_config, save_config
from medseg.config.plan import NetworkSpec, NormalizationSpec, Plan, RegionSpec, ResamplingSpec, TrainingSpec
from medseg.config.schema import (
    CONFIG_VERSION,
    Config,
    Curriculum,
    DatasetInfo,
    Evaluation,
    Inference,
    Model,
    Preprocessing,
    SpatialConfig,
    Tracking,
    Training,
)

__all__ = [
    "CONFIG_VERSION",
    "PLAN_FIELDS",
    "Config",
    "Curriculum",
    "DatasetInfo",
    "Evaluation",
    "Inference",
    "Model",
    "NetworkSpec",
    "NormalizationSpec",
    "Plan",
    "Preprocessing",
    "RegionSpec",
    "ResamplingSpec",
    "SpatialConfig",
    "Tracking",
    "Training",
    "TrainingSpec",
    "apply_overrides",
    "config_to_plan",
    "dump_config",
    "load_config",
    "parse_config",
    "plan_overrides",
    "plan_to_config",
    "save_config",
    "with_network",
]
