"""medseg.lite: the torch-free predictor ("Lite") for models written by ``medseg export``.

NumPy, SimpleITK and ONNX Runtime only (``pip install 'medseg[lite]'``); see docs/deploy.md. Nothing
in this package imports torch: an import-linter contract (pyproject.toml) and a test that runs it
where importing torch fails (tests/lite) keep it so.
"""

from medseg.core.lazy import lazy_exports

__all__ = ["LitePredictor", "OnnxModel", "importance_map", "predict_folder", "sliding_window"]

_LAZY: dict[str, str] = {
    "LitePredictor": "medseg.lite.predictor",
    "OnnxModel": "medseg.lite.session",
    "importance_map": "medseg.lite.blending",
    "predict_folder": "medseg.lite.predictor",
    "sliding_window": "medseg.lite.sliding_window",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
