"""Segmentation metrics on tensors and arrays, with anisotropic spacing (array-axis order, mm).

Overlap metrics (:mod:`~medseg.metrics.overlap`) are batched over ``(B, C, *spatial)`` binary or
one-hot masks and return ``(B, C)`` tensors; surface metrics take one binary mask pair (2-D or
3-D) and return a float. :func:`get_metric` gives every metric by name as
``fn(pred_mask, ref_mask, spacing) -> float`` for the Evaluator.

Empty-mask conventions (tested):

* both masks empty: Dice, IoU, precision, sensitivity, specificity and NSD are ``empty_value``
  (1 by default); HD, HD95 and ASSD are ``empty_value`` of those functions (0 by default);
  relative volume error is 0.
* exactly one mask empty: Dice, IoU and NSD are 0; HD, HD95 and ASSD are ``inf`` (kept infinite so
  that summaries count them instead of hiding them; :func:`finite_or` with
  :func:`image_diagonal` gives the finite "worst possible distance" fallback used by BraTS-style
  lesion metrics); relative volume error is ``+inf`` for an empty reference and -1 for an empty
  prediction. Generally, any ratio with a zero denominator is ``empty_value`` when prediction and
  reference agree everywhere, else 0.
* lesion-wise metrics: see :mod:`~medseg.metrics.lesion` (missed and false-positive lesions score
  Dice/NSD 0 and HD95 = the image diagonal in mm, or a given ``max_distance`` such as BraTS' 374).

Surface semantics: HD/HD95/ASSD match MONAI's ``compute_hausdorff_distance`` (directed percentiles,
max of both) and ``compute_average_surface_distance``; NSD matches DeepMind ``surface-distance``
(area-weighted surface elements), i.e. MONAI ``compute_surface_dice(use_subvoxels=True)``. They are
computed inside the bounding box of both masks (plus one voxel), with an ``edt`` distance map or a
k-d tree over the surface points, whichever suits the case (see :mod:`~medseg.metrics.surface_distance`).
"""

from medseg.metrics.accumulator import DiceAccumulator
from medseg.metrics.lesion import LesionScores, lesion_components, lesion_wise_scores
from medseg.metrics.overlap import (
    ConfusionCounts,
    confusion_counts,
    dice,
    iou,
    one_hot_labels,
    precision,
    relative_volume_error,
    sensitivity,
    specificity,
)
from medseg.metrics.registry import available_metrics, get_metric, register_metric
from medseg.metrics.soft_dice import soft_dice
from medseg.metrics.surface_dice import normalized_surface_dice
from medseg.metrics.surface_distance import (
    average_symmetric_surface_distance,
    directed_surface_distances,
    finite_or,
    hausdorff_distance,
    hd95,
    image_diagonal,
)

__all__ = [
    "ConfusionCounts",
    "DiceAccumulator",
    "LesionScores",
    "available_metrics",
    "average_symmetric_surface_distance",
    "confusion_counts",
    "dice",
    "directed_surface_distances",
    "finite_or",
    "get_metric",
    "hausdorff_distance",
    "hd95",
    "image_diagonal",
    "iou",
    "lesion_components",
    "lesion_wise_scores",
    "normalized_surface_dice",
    "one_hot_labels",
    "precision",
    "register_metric",
    "relative_volume_error",
    "sensitivity",
    "soft_dice",
    "specificity",
]
