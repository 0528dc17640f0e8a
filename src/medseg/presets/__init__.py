"""medseg.presets (see ARCHITECTURE.md for what it holds)."""

from medseg.core.lazy import lazy_exports

# heavier pieces are imported on first use (see medseg.core.lazy)
_LAZY: dict[str, str] = {
    "SegmentationTrainer": "medseg.presets.segmentation",
    "analyze": "medseg.presets.pipeline",
    "predict": "medseg.presets.pipeline",
    "preprocess": "medseg.presets.pipeline",
    "run_all": "medseg.presets.pipeline",
    "run_fold": "medseg.presets.pipeline",
    "train": "medseg.presets.pipeline",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = ["SegmentationTrainer", "analyze", "predict", "preprocess", "run_all", "run_fold", "train"]
