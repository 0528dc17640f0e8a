"""medseg.inference: sliding-window prediction, test-time augmentation, ensembling, postprocessing.

See ARCHITECTURE.md for what the package holds and may import.
"""

from medseg.inference.importance import importance_map
from medseg.inference.sliding_window import sliding_window_inference
from medseg.inference.windows import WindowGrid, window_grid

__all__ = ["WindowGrid", "importance_map", "sliding_window_inference", "window_grid"]
