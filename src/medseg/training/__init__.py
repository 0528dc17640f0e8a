"""medseg.training (see ARCHITECTURE.md for what it holds)."""

from medseg.core.lazy import lazy_exports

# heavier pieces are imported on first use (see medseg.core.lazy)
_LAZY: dict[str, str] = {
    "EMA": "medseg.training.ema",
    "Trainer": "medseg.training.trainer",
    "TrainerToolbox": "medseg.training.toolbox",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = ["EMA", "Trainer", "TrainerToolbox"]
