"""The one pair of functions between a config document and a Plan (plus the planner overrides).

Each Plan field has exactly one home in the config (``PLAN_FIELDS``); nothing else in medseg maps
between the two, so the Plan written into checkpoints is the config's and they cannot disagree.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from medseg.config.errors import format_validation_error
from medseg.config.plan import PLAN_VERSION, Plan, TrainingSpec
from medseg.config.schema import Config
from medseg.core.errors import ConfigError

#: Plan field -> its place in the config document (section.key).
PLAN_FIELDS: dict[str, str] = {
    "channel_names": "dataset_info.channel_names",
    "labels": "dataset_info.labels",
    "unlisted_labels": "dataset_info.unlisted_labels",
    "regions": "dataset_info.regions",
    "spatial_dims": "spatial_config.spatial_dims",
    "target_spacing": "spatial_config.target_spacing",
    "orientation": "spatial_config.orientation",
    "patch_size": "spatial_config.patch_size",
    "resampling": "spatial_config.resampling",
    "crop_to_nonzero": "preprocessing.crop_to_nonzero",
    "normalization": "preprocessing.normalization",
    "network.name": "model.name",
    "network.params": "model.params",
    "network.deep_supervision": "model.deep_supervision",
    "network.activation": "model.activation",
    "batch_size": "training.batch_size",
    "foreground_oversampling": "training.foreground_oversampling",
    "augmentation": "training.augmentation",
    "training.step_seconds": "training.step_seconds",
    "training.steps": "training.planned_steps",
    "training.time_budget_s": "training.time_budget_s",
    "reasons": "notes",
}
#: Plan fields that are measurements or explanations, never planner overrides.
_NOT_OVERRIDES = {
    "training.step_seconds",
    "training.steps",
    "training.time_budget_s",
    "reasons",
    "channel_names",
}
#: Plan keys that may stay unset in a config: the Plan's own default applies
_OPTIONAL = {
    "orientation",
    "training.step_seconds",
    "training.steps",
    "training.time_budget_s",
    "resampling",
    "augmentation",
    "foreground_oversampling",
    "network.params",
    "crop_to_nonzero",
    "unlisted_labels",
    "regions",
    "network.deep_supervision",
    "network.activation",
}


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value.model_dump() if hasattr(value, "model_dump") else value


def config_to_plan(config: Config) -> Plan:
    """The Plan the config describes; a Plan-held key still unset raises one line naming it."""
    data: dict[str, Any] = {"version": PLAN_VERSION}
    for plan_key, config_key in PLAN_FIELDS.items():
        value = _dump(_get(config, config_key))
        if value is None:
            if plan_key in _OPTIONAL:
                continue
            raise ConfigError(
                f"config key '{config_key}' is not set; run `medseg analyze` to plan it or set it"
            )
        target = data
        *parents, leaf = plan_key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "config", key_map=_plan_to_config_key)) from None


def _plan_to_config_key(plan_loc: str) -> str:
    """The config key of a Plan location (``normalization.0.scheme`` -> ``preprocessing.normalization.0.scheme``)."""
    for plan_key, config_key in sorted(PLAN_FIELDS.items(), key=lambda kv: -len(kv[0])):
        if plan_loc == plan_key or plan_loc.startswith(plan_key + "."):
            return config_key + plan_loc[len(plan_key) :]
    return plan_loc


def plan_to_config(plan: Plan, base: Config | None = None) -> Config:
    """``base`` (or the defaults) with every Plan-held key set from ``plan``; other keys kept."""
    data = (base or Config()).model_dump()
    flat = plan.model_dump()
    for key, value in plan.network.model_dump().items():
        flat[f"network.{key}"] = value
    training = TrainingSpec.model_validate(plan.training).model_dump()
    for key, value in training.items():
        flat[f"training.{key}"] = value
    for plan_key, config_key in PLAN_FIELDS.items():
        target = data
        *parents, leaf = config_key.split(".")
        for parent in parents:
            target = target[parent]
        target[leaf] = flat[plan_key]
    return Config.model_validate(data)


#: Plan keys fitted to the network: a new ``model.name`` makes them undecided again (re-planned)
NETWORK_FITTED = (
    "model.params",
    "model.deep_supervision",
    "spatial_config.patch_size",
    "training.batch_size",
    "training.step_seconds",
    "training.planned_steps",
)


def with_network(config: Config, name: str) -> Config:
    """``config`` with network ``name``; when that changes the network, the keys fitted to the old
    one (``NETWORK_FITTED``) are cleared so that planning fits them to the new one."""
    if config.model.name == name:
        return config
    data = config.model_dump()
    data["model"]["name"] = name
    for key in NETWORK_FITTED:
        section, leaf = key.split(".")
        data[section][leaf] = None
    return Config.model_validate(data)


def plan_overrides(config: Config) -> dict[str, Any]:
    """Planner overrides (Plan key -> value) for every Plan-held key set in ``config``."""
    out: dict[str, Any] = {}
    for plan_key, config_key in PLAN_FIELDS.items():
        value = _get(config, config_key)
        if plan_key in _NOT_OVERRIDES or value is None:
            continue
        if plan_key == "network.params":
            for name, param in value.items():
                out[f"{plan_key}.{name}"] = param
            continue
        out[plan_key] = _dump(value)
    return out
