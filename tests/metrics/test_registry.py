"""Metrics by name, as the Evaluator uses them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from medseg.evaluation import Evaluator
from medseg.metrics import available_metrics, get_metric, normalized_surface_dice, register_metric


def _pair() -> tuple[np.ndarray, np.ndarray]:
    ref = np.zeros((10, 10, 10), bool)
    ref[2:7, 2:7, 2:7] = True
    return np.roll(ref, 1, axis=1), ref


def test_names_give_callables_on_mask_pairs() -> None:
    pred, ref = _pair()
    spacing = (1.0, 2.0, 1.0)
    assert get_metric("dice")(pred, ref, spacing) == pytest.approx(2 * 100 / 250)
    assert get_metric("iou")(pred, ref, spacing) == pytest.approx(100 / 150)
    assert get_metric("recall")(pred, ref, spacing) == get_metric("sensitivity")(pred, ref, spacing)
    assert get_metric("relative_volume_error")(pred, ref, spacing) == 0.0
    assert get_metric("hd")(pred, ref, spacing) == pytest.approx(2.0)
    assert get_metric("nsd@2.5")(pred, ref, spacing) == pytest.approx(
        normalized_surface_dice(pred, ref, 2.5, spacing)
    )
    assert get_metric("lesion_detection_rate")(pred, ref, spacing) == 1.0
    assert {
        "hd95",
        "assd",
        "nsd",
        "lesion_dice",
        "lesion_hd95",
        "lesion_nsd",
        "specificity",
        "precision",
    } <= set(available_metrics())


def test_unknown_names_and_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    from medseg.metrics import registry

    monkeypatch.setattr(registry, "_METRICS", dict(registry._METRICS))  # registrations end with the test
    with pytest.raises(KeyError, match="unknown metric 'nope'"):
        get_metric("nope")
    with pytest.raises(KeyError, match="takes no"):
        get_metric("dice@2")
    with pytest.raises(KeyError, match="not a number"):
        get_metric("nsd@abc")
    with pytest.raises(KeyError, match="already registered"):
        register_metric("dice", lambda p, r, s: 0.0)
    register_metric("test_volume_ml", lambda p, r, s: float(p.sum() * np.prod(s)) / 1000, overwrite=True)
    assert get_metric("test_volume_ml")(*_pair(), (1.0, 2.0, 1.0)) == pytest.approx(0.25)


def test_evaluator_uses_the_registry() -> None:
    pred, ref = _pair()
    result = Evaluator("dice", "hd95", "nsd@1", progress=False).evaluate_pairs(
        [("c1", pred.astype(np.uint8), ref.astype(np.uint8), (1.0, 1.0, 1.0))]
    )
    values = result.mean_metrics
    assert values["label_1/dice"] == pytest.approx(0.8)
    assert values["label_1/hd95"] == pytest.approx(1.0)
    assert values["label_1/nsd@1"] == pytest.approx(normalized_surface_dice(pred, ref, 1.0))


def test_every_metric_pickles_for_worker_processes() -> None:
    pred, ref = _pair()
    for name in [*available_metrics(), "nsd@2", "lesion_nsd@0.5"]:
        fn = get_metric(name)
        assert pickle.loads(pickle.dumps(fn))(pred, ref, (1.0, 1.0, 1.0)) == fn(pred, ref, (1.0, 1.0, 1.0))
