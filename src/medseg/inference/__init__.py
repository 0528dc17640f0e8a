"""medseg.inference: sliding-window prediction, test-time augmentation, ensembling, postprocessing.

See ARCHITECTURE.md for what the package holds and may import. Postprocessing (cc3d, scipy,
pydantic) is imported from its own modules, so ``import medseg.inference`` stays light.
"""

import importlib
from typing import Any

from medseg.inference.activation import probabilities_to_labels, to_probabilities
from medseg.inference.ensemble import ensemble_probabilities
from medseg.inference.importance import importance_map
from medseg.inference.sliding_window import sliding_window_inference
from medseg.inference.tta import mirror_subsets, mirror_tta
from medseg.inference.windows import WindowGrid, window_grid

__all__ = [
    "Predictor",
    "WindowGrid",
    "ensemble_probabilities",
    "importance_map",
    "mirror_subsets",
    "mirror_tta",
    "parse_predictant",
    "probabilities_to_labels",
    "sliding_window_inference",
    "to_probabilities",
    "window_grid",
]

# Heavier pieces are exported lazily (PEP 562) so importing the package stays fast and
# import cycles between subpackages cannot form.
_LAZY: dict[str, str] = {
    "Predictor": "medseg.inference.predictor",
    "parse_predictant": "medseg.inference.predictant",
}


def __getattr__(name: str) -> Any:
    """Import a lazily exported name on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List eager and lazy exports."""
    return sorted([*globals(), *_LAZY])
