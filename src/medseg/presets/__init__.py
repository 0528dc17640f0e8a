"""medseg.presets (see ARCHITECTURE.md for what it holds)."""

import importlib
from typing import Any

# Heavier pieces are exported lazily (PEP 562) so importing the package stays fast and
# import cycles between subpackages cannot form.
_LAZY: dict[str, str] = {
    "SegmentationTrainer": "medseg.presets.segmentation",
    "analyze": "medseg.presets.pipeline",
    "cross_validate": "medseg.presets.pipeline",
    "run_fold": "medseg.presets.pipeline",
    "train_fold": "medseg.presets.pipeline",
}


def __getattr__(name: str) -> Any:
    """Import a lazily exported name on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List eager and lazy exports."""
    return sorted([*globals(), *_LAZY])

__all__ = ["SegmentationTrainer", "analyze", "cross_validate", "run_fold", "train_fold"]
