"""Every name a config uses, checked against its registry when the config is loaded.

The config schema (``medseg.config``) sits below the registries and cannot see them, so the names
it holds — the network and its parameters, the loss, the metrics, the labels a region names — are
checked here, before any work starts: a typo costs one line naming the key and the valid choices,
never a traceback after an hour of training.
"""

from __future__ import annotations

from medseg.config import Config
from medseg.core.errors import ConfigError


def _network(config: Config) -> None:
    from medseg.nets.registry import available_networks, check_params, network_entry

    name = config.model.name or "unet"
    try:
        network_entry(name)
    except ConfigError:
        raise ConfigError(
            f"config key 'model.name' = {name!r} is invalid; valid choices: {', '.join(available_networks())}"
        ) from None
    try:
        check_params(name, dict(config.model.params or {}))
    except ConfigError as exc:
        raise ConfigError(f"config key 'model.params': {exc}") from None


def _loss(config: Config) -> None:
    from medseg.losses import check_loss

    t = config.training
    check_loss(t.loss, t.loss_params, t.composite_weighting)


def _metrics(config: Config) -> None:
    from medseg.metrics.registry import get_metric

    for i, name in enumerate(config.evaluation.metrics):
        try:
            get_metric(name)
        except KeyError as exc:
            problem = str(exc.args[0]) if exc.args else str(exc)
            raise ConfigError(
                f"config key 'evaluation.metrics.{i}' = {name!r} is invalid: {problem}"
            ) from None


def _regions(config: Config) -> None:
    labels = config.dataset_info.labels
    if not labels:
        return
    values = sorted(labels.values())
    for value in config.training.label_probabilities or {}:
        if value not in values or value == 0:
            raise ConfigError(
                f"config key 'training.label_probabilities' names label value {value}, which is not a "
                f"foreground value of dataset_info.labels; valid values: {[v for v in values if v]}"
            )
    for key, regions in (
        ("evaluation.regions", config.evaluation.regions or {}),
        ("dataset_info.regions", {r.name: r.labels for r in config.dataset_info.regions or []}),
    ):
        for name, members in regions.items():
            unknown = sorted(set(members) - set(values))
            if unknown:
                raise ConfigError(
                    f"config key '{key}.{name}' names label value(s) {unknown} that are not in "
                    f"dataset_info.labels; valid values: {values}"
                )


def check_names(config: Config) -> Config:
    """Raise one :class:`ConfigError` line for the first unknown name in ``config``; returns it."""
    _network(config)
    _loss(config)
    _metrics(config)
    _regions(config)
    return config
