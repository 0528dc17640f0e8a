"""The names the seeds use are importable from their packages and are the real objects."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "medseg.layers": ["LayerT"],
    "medseg.training": ["Trainer", "TrainerToolbox", "EMA"],
    "medseg.presets": ["SegmentationTrainer", "run_fold", "run_all", "analyze", "train", "predict"],
    "medseg.losses": ["DeepSupervisionWrapper"],
    "medseg.data": [
        "inspect",
        "plan",
        "preprocess",
        "RandomROIDataset",
        "NNUNetDataset",
        "BinarizedDataset",
        "PreprocessedDataset",
        "Fingerprint",
        "Plan",
        "make_loader",
    ],
    "medseg.io": ["fast_save", "fast_load"],
    "medseg.inference": ["Predictor", "parse_predictant", "sliding_window_inference"],
    "medseg.evaluation": ["Evaluator", "EvalResult"],
}


@pytest.mark.parametrize(("package", "name"), [(p, n) for p, names in PUBLIC.items() for n in names])
def test_public_name_is_exported_and_listed(package: str, name: str) -> None:
    module = importlib.import_module(package)
    obj = getattr(module, name)
    assert obj.__name__ == name  # the class/function itself, not a submodule of the same name
    assert name in dir(module)


def test_unknown_name_raises_attribute_error() -> None:
    module = importlib.import_module("medseg.data")
    with pytest.raises(AttributeError, match=r"medseg\.data.*no_such_thing"):
        _ = module.no_such_thing
