"""The config document: Plan <-> config round trip, JSON/YAML files, overrides, planner overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medseg.config import (
    PLAN_FIELDS,
    Config,
    NetworkSpec,
    NormalizationSpec,
    Plan,
    ResamplingSpec,
    TrainingSpec,
    apply_overrides,
    config_to_plan,
    load_config,
    plan_overrides,
    plan_to_config,
    save_config,
)
from medseg.core.errors import ConfigError


def full_plan() -> Plan:
    """A Plan with every field away from its default."""
    return Plan(
        spatial_dims=3,
        channel_names=["T1", "T2"],
        labels={"background": 0, "tumour": 1, "edema": 2},
        target_spacing=[3.0, 0.8, 0.8],
        orientation="RAS",
        crop_to_nonzero=True,
        normalization=[
            NormalizationSpec(scheme="ct", clip_low=-100, clip_high=300, mean=40, std=80),
            NormalizationSpec(scheme="zscore_nonzero"),
        ],
        resampling=ResamplingSpec(image_order=1, label_mode="nearest", separate_z_axis=0, separate_z_order=1),
        patch_size=[24, 96, 96],
        batch_size=3,
        foreground_oversampling=0.5,
        network=NetworkSpec(name="unet", params={"features_base": 16, "pool_strides": [[1, 2, 2]]}),
        augmentation={"mirror": {"enabled": False}},
        reasons=["because"],
        training=TrainingSpec(step_seconds=0.25, steps=400, time_budget_s=120.0),
    )


def test_plan_config_plan_round_trip_is_identity() -> None:
    plan = full_plan()
    assert config_to_plan(plan_to_config(plan)) == plan


def test_config_plan_config_round_trip_keeps_every_other_key() -> None:
    base = Config.model_validate(
        {
            "training": {"optimizer": "adamw", "epochs": 7, "folds": [1, 2]},
            "inference": {"tta": False, "overlap": 0.25},
            "evaluation": {"metrics": ["dice", "hd95"], "regions": {"whole": [1, 2]}},
        }
    )
    config = plan_to_config(full_plan(), base)
    assert plan_to_config(config_to_plan(config), config) == config
    assert config.training.optimizer == "adamw" and config.training.epochs == 7
    assert config.evaluation.regions == {"whole": [1, 2]}
    assert config.spatial_config.patch_size == [24, 96, 96]
    assert config.training.planned_steps == 400 and config.notes == ["because"]


def test_every_plan_field_has_exactly_one_home_in_the_config() -> None:
    tops = {key.split(".")[0] for key in PLAN_FIELDS}
    assert tops == set(Plan.model_fields) - {"version"}
    assert len(set(PLAN_FIELDS.values())) == len(PLAN_FIELDS)


def test_unplanned_config_names_the_missing_key() -> None:
    with pytest.raises(ConfigError) as info:
        config_to_plan(Config())
    assert str(info.value) == (
        "config key 'dataset_info.channel_names' is not set; run `medseg analyze` to plan it or set it"
    )


def test_inconsistent_plan_keys_give_one_line() -> None:
    config = apply_overrides(plan_to_config(full_plan()), {"spatial_config.patch_size": [16, 16]})
    with pytest.raises(ConfigError) as info:
        config_to_plan(config)
    assert str(info.value) == "config: patch_size [16, 16] must be 3 positive integers"


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    config = plan_to_config(full_plan(), Config.model_validate({"training": {"lr": 0.003}}))
    path = save_config(config, tmp_path / f"config{suffix}")
    assert load_config(path) == config
    text = path.read_text(encoding="utf-8")
    parsed = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    assert parsed["training"]["lr"] == 0.003
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_hand_written_yaml_with_few_keys_gets_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "training:\n  optimizer: adam\n  lr: 0.001\nmodel:\n  deep_supervision: false\n", encoding="utf-8"
    )
    config = load_config(path)
    assert config.training.optimizer == "adam" and config.training.lr == 0.001
    assert config.model.deep_supervision is False
    assert config.training.steps_per_epoch == Config().training.steps_per_epoch


def test_apply_overrides_sets_nested_keys_and_revalidates() -> None:
    config = apply_overrides(Config(), {"model.params.features_base": 8, "training.folds": "all"})
    assert config.model.params == {"features_base": 8}
    assert config.training.folds == "all"
    with pytest.raises(ConfigError) as info:
        apply_overrides(Config(), {"training.folds": [9]}, source="flags")
    assert str(info.value) == (
        "flags: key 'training.folds' = [9] is invalid; valid choices: fold numbers 0..4 "
        "(n_folds is 5) or 'all'"
    )


def test_plan_overrides_hold_only_hand_settable_plan_keys() -> None:
    config = Config.model_validate(
        {
            "spatial_config": {"patch_size": [32, 32, 32]},
            "model": {"params": {"features_base": 8}},
            "training": {"batch_size": 2, "epochs": 3},
        }
    )
    assert plan_overrides(config) == {
        "patch_size": [32, 32, 32],
        "network.params.features_base": 8,
        "batch_size": 2,
    }
    full = plan_overrides(plan_to_config(full_plan()))
    assert "reasons" not in full and "training.steps" not in full and "channel_names" not in full
    # labels are hand-settable: a subset of the data's values trains only those classes
    assert full["labels"] == {"background": 0, "tumour": 1, "edema": 2}
    assert full["normalization"][0]["scheme"] == "ct"


def test_plan_overrides_steer_the_real_planner(tmp_path: Path) -> None:
    from medseg.data.inspection import inspect
    from medseg.data.planning import plan
    from medseg.data.sample import load_sample

    fingerprint = inspect(load_sample().subset(load_sample().case_ids[:3]), workers=0, progress=False)
    config = Config.model_validate(
        {"spatial_config": {"patch_size": [16, 16, 16]}, "model": {"params": {"features_base": 8}}}
    )
    planned = plan(fingerprint, overrides=plan_overrides(config))
    assert planned.patch_size == [16, 16, 16]
    assert planned.network.params["features_base"] == 8
    assert config_to_plan(plan_to_config(planned, config)) == planned
