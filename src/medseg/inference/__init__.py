"""medseg.inference: sliding-window prediction, test-time augmentation, ensembling, postprocessing.

See ARCHITECTURE.md for what the package holds and may import. Postprocessing (cc3d, scipy,
pydantic) is imported from its own modules, so ``import medseg.inference`` stays light.
"""

from medseg.core.lazy import lazy_exports
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

# heavier pieces are imported on first use (see medseg.core.lazy)
_LAZY: dict[str, str] = {
    "Predictor": "medseg.inference.predictor",
    "parse_predictant": "medseg.inference.predictant",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
